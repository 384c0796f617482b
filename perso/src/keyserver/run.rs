//! Running one job on one card through the loader's client: authenticate
//! (transport keys, or the issuer keys of an earlier attempt that got as
//! far as PUT KEY), delete what is to be replaced, load and install,
//! STORE DATA, PUT KEY of the new diversified keys, and authenticate with
//! them. Every failure names its step and status word; a failure once a
//! LOAD has begun deletes what the job loaded (rollback).

use gp::sw::CommandKind;
use loader::client::{ChannelOptions, GpClient, GpError};
use loader::plan::{self, LoadOptions, Plan};
use scp::keys::KeyContext;
use scp::ScpError;

use super::job::Job;
use super::keys::{CardKeys, NewKeys};
use crate::control::CardIdentity;

/// How a job ended.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    pub ok: bool,
    pub step: Option<String>,
    pub sw: Option<u16>,
    pub message: String,
    /// The failure was the card's link (card pulled, station gone), not
    /// the card's refusal: worth a retry.
    pub link_lost: bool,
    /// The card holds the new keys (PUT KEY done now or before).
    pub keys_changed: bool,
    /// Something was loaded and then deleted again.
    pub rolled_back: bool,
}

struct StepError {
    step: String,
    error: GpError,
}

fn at(step: impl Into<String>) -> impl FnOnce(GpError) -> StepError {
    let step = step.into();
    move |error| StepError { step, error }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Keys {
    Transport,
    Issuer,
}

struct Runner<'a> {
    client: &'a mut GpClient,
    job: &'a Job,
    keys: &'a CardKeys,
    card: &'a CardIdentity,
    sd: Vec<u8>,
    current: Keys,
    loaded: Vec<Vec<u8>>,
    keys_changed: bool,
}

/// Whether an authentication failure means "other keys" (the host found
/// the card cryptogram wrong, or the card has no such key version) rather
/// than a broken card or link.
fn other_keys(e: &GpError) -> bool {
    matches!(e, GpError::Scp(ScpError::CardCryptogram))
        || matches!(
            e,
            GpError::Status {
                kind: CommandKind::InitializeUpdate,
                sw: 0x6A88 | 0x6A86 | 0x6A80,
                ..
            }
        )
}

impl Runner<'_> {
    fn options(&self, keys: Keys) -> ChannelOptions {
        let provider = match keys {
            Keys::Transport => &self.keys.transport,
            Keys::Issuer => &self.keys.issuer,
        };
        let mut o = ChannelOptions::new(std::sync::Arc::clone(provider));
        o.security_level = self.job.security_level;
        o
    }

    fn open(&mut self, keys: Keys) -> Result<(), GpError> {
        self.client.forget_secure_channel();
        self.client.select_security_domain(Some(&self.sd))?;
        self.client.open_secure_channel(&self.options(keys))?;
        Ok(())
    }

    fn authenticate(&mut self) -> Result<(), StepError> {
        match self.open(Keys::Transport) {
            Ok(()) => {
                self.current = Keys::Transport;
                Ok(())
            }
            Err(first) if other_keys(&first) => match self.open(Keys::Issuer) {
                Ok(()) => {
                    // An earlier attempt put the new keys already.
                    self.current = Keys::Issuer;
                    self.keys_changed = true;
                    Ok(())
                }
                Err(second) => Err(StepError {
                    step: "authenticate (transport keys)".into(),
                    error: GpError::Protocol(format!(
                        "{}: neither the transport keys ({first}) nor the issuer keys ({second}) open a secure channel",
                        self.keys.rule
                    )),
                }),
            },
            Err(first) => Err(at("authenticate (transport keys)")(first)),
        }
    }

    fn play(&mut self, plan: &Plan, name: &dyn Fn(usize) -> String) -> Result<(), StepError> {
        let mut done = 0;
        let result = self.client.run(plan, &mut |p| done = p.step);
        result.map(|_| ()).map_err(|error| StepError {
            step: name(done),
            error,
        })
    }

    fn delete_if_present(&mut self, aid: &[u8], related: bool) -> Result<(), StepError> {
        let mut p = plan::delete(aid, related).map_err(|e| at("DELETE")(e.into()))?;
        for s in &mut p.steps {
            // Absent already: nothing to delete.
            s.accept.push(0x6A88);
        }
        let name = format!("DELETE {}", hex::encode_upper(aid));
        self.play(&p, &|_| name.clone())
    }

    fn steps(&mut self) -> Result<(), StepError> {
        self.authenticate()?;
        // A clean slate: what the job installs is deleted first (a rerun
        // after an interrupted attempt starts over), newest first.
        let mut deletions: Vec<(Vec<u8>, bool)> = self.job.delete.clone();
        for item in self.job.install.iter().rev() {
            deletions.push((item.package.clone(), true));
        }
        for (aid, related) in deletions {
            self.delete_if_present(&aid, related)?;
        }
        for item in &self.job.install {
            let aid = hex::encode_upper(&item.package);
            self.loaded.push(item.package.clone());
            let load = self
                .client
                .load_plan(&item.cap, &LoadOptions::default())
                .map_err(at(format!("INSTALL [for load] {aid}")))?;
            let blocks = load.steps.len().saturating_sub(1);
            self.play(&load, &|done| {
                if done == 0 {
                    format!("INSTALL [for load] {aid}")
                } else {
                    format!("LOAD block {done}/{blocks} of {aid}")
                }
            })?;
            if !plan::is_library(&item.cap) || item.options.applet.is_some() {
                let install = plan::install(&item.cap, &item.options)
                    .map_err(|e| at(format!("INSTALL [for install] {aid}"))(e.into()))?;
                self.play(&install, &|_| format!("INSTALL [for install] {aid}"))?;
            }
        }
        let data = self
            .job
            .data_for(self.card.cin.as_deref())
            .map_err(|e| at("STORE DATA")(GpError::Protocol(e)))?;
        if let Some(data) = data {
            match data.applet {
                // INSTALL [for personalization] of the applet, then its
                // blocks through the security domain.
                Some(applet) => {
                    let aid = hex::encode_upper(applet);
                    let p = plan::personalize(applet, data.blocks, data.p1).map_err(|e| {
                        at(format!("INSTALL [for personalization] {aid}"))(e.into())
                    })?;
                    let n = p.steps.len() - 1;
                    self.play(&p, &|done| {
                        if done == 0 {
                            format!("INSTALL [for personalization] {aid}")
                        } else {
                            format!("STORE DATA block {done}/{n} to {aid}")
                        }
                    })?;
                }
                None => {
                    let p = plan::store_data(data.blocks, data.p1)
                        .map_err(|e| at("STORE DATA")(e.into()))?;
                    let n = p.steps.len();
                    self.play(&p, &|done| format!("STORE DATA block {}/{n}", done + 1))?;
                }
            }
        }
        if self.job.put_keys {
            if self.current == Keys::Transport {
                let info =
                    self.client.session().cloned().ok_or_else(|| {
                        at("PUT KEY")(GpError::Protocol("no secure channel".into()))
                    })?;
                let context = KeyContext {
                    protocol: info.protocol(),
                    key_version: info.key_version,
                    kdd: info.kdd,
                };
                let new = self
                    .keys
                    .new_card_keys(&context)
                    .map_err(|e| at("PUT KEY")(GpError::Protocol(e.to_string())))?;
                let replace = Some(info.key_version);
                match new {
                    NewKeys::Clear(keys) => self.client.put_key(&keys, replace),
                    // Derived, encrypted for the card and checked in the HSM.
                    NewKeys::Sealed(sealer) => self.client.put_sealed_key(sealer.as_ref(), replace),
                }
                .map_err(at("PUT KEY"))?;
                self.keys_changed = true;
            }
            // The new keys must work before the card counts as done.
            self.open(Keys::Issuer)
                .map_err(at("authenticate (new keys)"))?;
            self.current = Keys::Issuer;
        }
        Ok(())
    }

    /// Deletes what the job loaded, in a fresh session (the failed one may
    /// be closed). Says what happened.
    fn rollback(&mut self) -> Result<String, String> {
        let keys = if self.keys_changed {
            Keys::Issuer
        } else {
            self.current
        };
        self.open(keys)
            .map_err(|e| format!("rollback could not open a session: {e}"))?;
        let loaded: Vec<Vec<u8>> = self.loaded.iter().rev().cloned().collect();
        for aid in &loaded {
            self.delete_if_present(aid, true)
                .map_err(|e| format!("rollback: {}: {}", e.step, e.error))?;
        }
        Ok(format!(
            "rolled back: deleted {}",
            loaded
                .iter()
                .map(hex::encode_upper)
                .collect::<Vec<_>>()
                .join(", ")
        ))
    }
}

/// Runs `job` on the card behind `client`.
pub fn run(client: &mut GpClient, job: &Job, keys: &CardKeys, card: &CardIdentity) -> Outcome {
    let sd =
        hex::decode(&card.security_domain).unwrap_or_else(|_| loader::client::ISD_AIDS[0].to_vec());
    let mut r = Runner {
        client,
        job,
        keys,
        card,
        sd,
        current: Keys::Transport,
        loaded: Vec::new(),
        keys_changed: false,
    };
    match r.steps() {
        Ok(()) => Outcome {
            ok: true,
            message: format!(
                "personalized as {}: {} package(s) installed{}",
                keys.rule,
                job.install.len(),
                if job.put_keys {
                    ", new keys put and verified"
                } else {
                    ""
                }
            ),
            keys_changed: r.keys_changed,
            ..Outcome::default()
        },
        Err(StepError { step, error }) => {
            let link_lost = matches!(error, GpError::Transport(_));
            let mut message = format!("{step}: {error}");
            let mut rolled_back = false;
            if !r.loaded.is_empty() {
                match r.rollback() {
                    Ok(m) => {
                        rolled_back = true;
                        message.push_str("; ");
                        message.push_str(&m);
                    }
                    Err(m) => {
                        message.push_str("; ");
                        message.push_str(&m);
                    }
                }
            }
            Outcome {
                ok: false,
                sw: error.sw(),
                step: Some(step),
                message,
                link_lost,
                keys_changed: r.keys_changed,
                rolled_back,
            }
        }
    }
}
