//! Job files: what the key server does to a card, in TOML or JSON.
//!
//! ```toml
//! security_level = "mac"        # mac | enc | rmac
//! retries = 1                   # new tries when the card's link is lost
//! command_timeout_ms = 30000
//! [[delete]]                    # removed first (absent is fine)
//! aid = "F00000000101"
//! [[install]]                   # loaded and installed in order
//! cap = "hello.cap"             # relative to the job file
//! applet = "F0000000010101"     # optional: one applet of the CAP
//! instance = "F0000000010101"   # optional
//! privileges = "00"             # optional, hex
//! params = ""                   # applet install parameters (C9), hex
//! [store_data]                  # optional: STORE DATA blocks per card
//! file = "cards.json"           # { "<CIN>": ["hex block", ...], "default": [...] }
//! p1 = "00"
//! applet = "F0000000010101"     # optional: the applet the data is for (INSTALL
//!                               # [for personalization] first); else the ISD
//! [put_keys]                    # the card's new diversified keys
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use cap_tools::Cap;
use gp::privileges::Privileges;
use loader::plan::InstallOptions;
use scp::SecurityLevel;
use serde::Deserialize;

/// A job file as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct JobFile {
    #[serde(default)]
    description: String,
    #[serde(default = "default_level")]
    security_level: String,
    #[serde(default)]
    retries: u32,
    #[serde(default = "default_timeout")]
    command_timeout_ms: u32,
    #[serde(default)]
    delete: Vec<DeleteFile>,
    #[serde(default)]
    install: Vec<InstallFile>,
    store_data: Option<StoreDataFile>,
    put_keys: Option<PutKeysFile>,
}

fn default_level() -> String {
    "mac".into()
}
fn default_timeout() -> u32 {
    30_000
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct DeleteFile {
    aid: String,
    #[serde(default = "yes")]
    related: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct InstallFile {
    cap: PathBuf,
    applet: Option<String>,
    instance: Option<String>,
    privileges: Option<String>,
    #[serde(default)]
    params: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct StoreDataFile {
    file: PathBuf,
    #[serde(default)]
    p1: Option<String>,
    #[serde(default)]
    applet: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct PutKeysFile {}

/// One CAP to load and install.
#[derive(Clone)]
pub struct InstallItem {
    pub path: PathBuf,
    pub cap: Arc<Cap>,
    pub package: Vec<u8>,
    pub options: InstallOptions,
}

/// STORE DATA blocks by CIN (and "DEFAULT"), the P1 of each, and the
/// applet they are for.
#[derive(Debug, Clone)]
pub struct StoreData {
    pub blocks: BTreeMap<String, Vec<Vec<u8>>>,
    pub p1: u8,
    /// The applet instance INSTALL [for personalization] names; none sends
    /// the blocks to the security domain itself.
    pub applet: Option<Vec<u8>>,
}

/// One card's STORE DATA blocks, their P1, and the applet they are for.
#[derive(Debug, Clone, Copy)]
pub struct CardData<'a> {
    pub blocks: &'a [Vec<u8>],
    pub p1: u8,
    pub applet: Option<&'a [u8]>,
}

/// A job, checked and with its CAPs read.
#[derive(Clone)]
pub struct Job {
    pub name: String,
    pub description: String,
    pub security_level: SecurityLevel,
    pub retries: u32,
    pub command_timeout_ms: u32,
    pub delete: Vec<(Vec<u8>, bool)>,
    pub install: Vec<InstallItem>,
    /// STORE DATA blocks by CIN (and "default"), and P1.
    pub store_data: Option<StoreData>,
    pub put_keys: bool,
}

fn hex_field(text: &str, what: &str, path: &Path) -> Result<Vec<u8>, String> {
    let clean: String = text
        .chars()
        .filter(|c| !c.is_whitespace() && *c != ':')
        .collect();
    hex::decode(&clean).map_err(|_| format!("{}: {what} {text:?} is not hex", path.display()))
}

fn hex_byte(text: &str, what: &str, path: &Path) -> Result<u8, String> {
    match hex_field(text, what, path)?.as_slice() {
        [b] => Ok(*b),
        _ => Err(format!(
            "{}: {what} {text:?} must be one byte",
            path.display()
        )),
    }
}

/// Largest per-card data file.
const MAX_DATA_FILE: u64 = 64 << 20;

impl Job {
    /// Reads a job file (`.json` as JSON, anything else as TOML), its CAPs
    /// and its data file.
    pub fn load(name: &str, path: &Path) -> Result<Job, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read job {}: {e}", path.display()))?;
        let file: JobFile = if path.extension().is_some_and(|x| x == "json") {
            serde_json::from_str(&text).map_err(|e| format!("job {}: {e}", path.display()))?
        } else {
            toml::from_str(&text).map_err(|e| format!("job {}: {e}", path.display()))?
        };
        let base = path.parent().unwrap_or(Path::new("."));
        let security_level = match file.security_level.as_str() {
            "mac" => SecurityLevel::C_MAC,
            "enc" => SecurityLevel::C_MAC_C_ENC,
            "rmac" => SecurityLevel::C_MAC_C_ENC_R_MAC,
            other => {
                return Err(format!(
                    "{}: security_level {other:?}: mac, enc or rmac",
                    path.display()
                ))
            }
        };
        let mut delete = Vec::new();
        for d in &file.delete {
            delete.push((hex_field(&d.aid, "delete aid", path)?, d.related));
        }
        let mut install = Vec::new();
        for i in &file.install {
            let cap_path = base.join(&i.cap);
            let cap = Cap::from_path(&cap_path).map_err(|e| format!("{}: {e}", path.display()))?;
            let package = loader::plan::package_aid(&cap)
                .map_err(|e| format!("{}: {e}", cap_path.display()))?;
            let privileges = match &i.privileges {
                None => Privileges::default(),
                Some(p) => {
                    let bytes = hex_field(p, "privileges", path)?;
                    Privileges::from_bytes(&bytes).ok_or_else(|| {
                        format!("{}: privileges {p:?}: 1 or 3 bytes", path.display())
                    })?
                }
            };
            let options = InstallOptions {
                applet: i
                    .applet
                    .as_deref()
                    .map(|a| hex_field(a, "applet", path))
                    .transpose()?,
                instance: i
                    .instance
                    .as_deref()
                    .map(|a| hex_field(a, "instance", path))
                    .transpose()?,
                privileges,
                parameters: hex_field(&i.params, "params", path)?,
                ..InstallOptions::default()
            };
            // The plan must be buildable now, not on the first card.
            if !loader::plan::is_library(&cap) || options.applet.is_some() {
                loader::plan::install(&cap, &options)
                    .map_err(|e| format!("{}: {e}", cap_path.display()))?;
            }
            install.push(InstallItem {
                path: cap_path,
                cap: Arc::new(cap),
                package,
                options,
            });
        }
        let store_data = match &file.store_data {
            None => None,
            Some(s) => {
                let data_path = base.join(&s.file);
                let len = std::fs::metadata(&data_path)
                    .map_err(|e| format!("cannot read {}: {e}", data_path.display()))?
                    .len();
                if len > MAX_DATA_FILE {
                    return Err(format!("{}: {len} bytes is too large", data_path.display()));
                }
                let text = std::fs::read_to_string(&data_path)
                    .map_err(|e| format!("cannot read {}: {e}", data_path.display()))?;
                let raw: BTreeMap<String, Vec<String>> = serde_json::from_str(&text)
                    .map_err(|e| format!("{}: {e}", data_path.display()))?;
                let mut blocks = BTreeMap::new();
                for (card, list) in raw {
                    let mut bs = Vec::new();
                    for (n, b) in list.iter().enumerate() {
                        let bytes = hex_field(b, &format!("block {n} of {card}"), &data_path)?;
                        if bytes.is_empty() || bytes.len() > 255 {
                            return Err(format!(
                                "{}: block {n} of {card} has {} bytes (1 to 255)",
                                data_path.display(),
                                bytes.len()
                            ));
                        }
                        bs.push(bytes);
                    }
                    if bs.is_empty() || bs.len() > 256 {
                        return Err(format!(
                            "{}: {card} needs 1 to 256 blocks",
                            data_path.display()
                        ));
                    }
                    blocks.insert(card.to_ascii_uppercase(), bs);
                }
                let p1 =
                    s.p1.as_deref()
                        .map(|p| hex_byte(p, "p1", path))
                        .transpose()?
                        .unwrap_or(0);
                let applet = match &s.applet {
                    None => None,
                    Some(a) => {
                        let aid = hex_field(a, "store_data.applet", path)?;
                        if !(5..=16).contains(&aid.len()) {
                            return Err(format!(
                                "{}: store_data.applet {a:?} has {} bytes; an AID has 5 to 16",
                                path.display(),
                                aid.len()
                            ));
                        }
                        Some(aid)
                    }
                };
                Some(StoreData { blocks, p1, applet })
            }
        };
        Ok(Job {
            name: name.to_string(),
            description: file.description,
            security_level,
            retries: file.retries,
            command_timeout_ms: file.command_timeout_ms.max(1),
            delete,
            install,
            store_data,
            put_keys: file.put_keys.is_some(),
        })
    }

    /// The STORE DATA blocks for a card (by CIN, else "default"); an error
    /// when the job has a data file that names neither.
    pub fn data_for(&self, cin: Option<&str>) -> Result<Option<CardData<'_>>, String> {
        let Some(StoreData { blocks, p1, applet }) = &self.store_data else {
            return Ok(None);
        };
        let key = cin.map(str::to_ascii_uppercase);
        match key
            .as_ref()
            .and_then(|k| blocks.get(k))
            .or_else(|| blocks.get("DEFAULT"))
        {
            Some(b) => Ok(Some(CardData {
                blocks: b.as_slice(),
                p1: *p1,
                applet: applet.as_deref(),
            })),
            None => Err(format!(
                "the data file has no entry for CIN {} and no \"default\"",
                cin.unwrap_or("(none)")
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn toml_and_json_jobs_with_errors_named() {
        let dir = tempfile::tempdir().unwrap();
        let hello = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../samples/hello.cap");
        let job = write(
            dir.path(),
            "j.toml",
            &format!(
                "security_level = \"enc\"\n[[delete]]\naid = \"F00000000101\"\n[[install]]\ncap = {:?}\n[store_data]\nfile = \"d.json\"\n[put_keys]\n",
                hello.display().to_string()
            ),
        );
        write(
            dir.path(),
            "d.json",
            r#"{"default": ["0102"], "aabb": ["03"]}"#,
        );
        let j = Job::load("j", &job).unwrap();
        assert_eq!(j.install.len(), 1);
        assert_eq!(j.install[0].package, hex::decode("F00000000101").unwrap());
        assert!(j.put_keys);
        assert_eq!(
            j.data_for(Some("AABB")).unwrap().unwrap().blocks,
            &[vec![3u8]]
        );
        assert_eq!(j.data_for(None).unwrap().unwrap().blocks, &[vec![1u8, 2]]);

        let bad = write(dir.path(), "b.json", r#"{"security_level": "max"}"#);
        assert!(Job::load("b", &bad)
            .err()
            .unwrap()
            .contains("security_level"));
        let typo = write(dir.path(), "t.toml", "instal = []\n");
        assert!(Job::load("t", &typo).err().unwrap().contains("t.toml"));
        let missing = write(dir.path(), "m.toml", "[[install]]\ncap = \"nope.cap\"\n");
        assert!(Job::load("m", &missing).err().unwrap().contains("nope.cap"));
    }
}
