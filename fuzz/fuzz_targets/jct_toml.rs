//! jct.toml parsing (cap_tools::convert::project): any text gives a
//! project or an error, never a panic. A parsed project written back as
//! TOML parses to the same project, and its converter options say the same.
#![no_main]

use std::path::Path;

use cap_tools::convert::project::{parse_version, Project};
use libfuzzer_sys::fuzz_target;
use toml::Value;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let path = Path::new("/fuzz/app/jct.toml");
    let Ok(project) = Project::parse(&text, path) else {
        return;
    };
    let (major, minor) = project.version;
    assert_eq!(
        parse_version(&format!("{major}.{minor}")),
        Some(project.version)
    );

    let opts = project.options();
    assert_eq!(opts.package, project.package);
    assert_eq!(opts.package_aid, project.package_aid);
    assert_eq!(opts.version, project.version);
    assert_eq!(opts.applets, project.applets);
    assert_eq!(opts.target, project.target);
    assert_eq!(opts.int_support, project.int_support);
    assert_eq!(opts.debug, project.debug);
    assert_eq!(opts.export_path, project.export_path);

    let again = Project::parse(&render(&project), path).expect("a rendered project parses");
    assert_eq!(again, project, "parse(render(p)) == p");
});

/// The project as a jct.toml (paths absolute, as the parse resolved them).
fn render(p: &Project) -> String {
    let s = |text: &str| Value::String(text.to_string()).to_string();
    let path = |p: &Path| s(p.to_str().expect("paths come from UTF-8 text"));
    let mut out = format!(
        "[package]\nname = {}\naid = {}\nversion = {}\n",
        s(&p.package),
        s(&p.package_aid.to_hex()),
        s(&format!("{}.{}", p.version.0, p.version.1)),
    );
    for (aid, class) in &p.applets {
        out += &format!(
            "[[applet]]\nclass = {}\naid = {}\n",
            s(class),
            s(&aid.to_hex())
        );
    }
    let exportpath: Vec<String> = p.export_path.iter().map(|e| path(e)).collect();
    out += &format!(
        "[build]\ntarget = {}\nint = {}\ndebug = {}\nsources = {}\nclasses = {}\noutput = {}\nexportpath = [{}]\n",
        s(p.target.as_str()),
        p.int_support,
        p.debug,
        path(&p.sources),
        path(&p.classes),
        path(&p.output),
        exportpath.join(", "),
    );
    out
}
