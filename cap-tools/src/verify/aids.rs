//! AIDs: 5 to 16 bytes wherever they appear (ISO/IEC 7816-5), and applets
//! registered under the RID of the package that defines them, which cards
//! enforce at installation.

use super::layout;
use super::model::Parts;
use super::{aid_text, rule, Finding};
use crate::aid::Aid;
use crate::cap::Tag;

pub(super) fn check(p: &Parts<'_>, out: &mut Vec<Finding>) {
    if let Some(h) = p.header {
        for (offset, aid) in layout::header_aids(h) {
            length(Tag::Header, offset, "package", aid, out);
        }
    }
    if let Some(i) = p.import {
        let aids = layout::package_aids(1, i.packages.iter().map(|x| &x.aid));
        for (offset, aid) in aids {
            length(Tag::Import, offset, "imported package", aid, out);
        }
    }
    if let Some(d) = p.directory {
        let at = layout::directory(d, &p.cap.format);
        for (c, &offset) in d.custom_components.iter().zip(&at.custom) {
            // The AID_length byte follows the tag and the u2/u4 size.
            let size = if p.extended { 4 } else { 2 };
            let offset = offset.saturating_add(1 + size);
            length(Tag::Directory, offset, "custom component", &c.aid, out);
        }
    }
    applets(p, out);
}

fn length(tag: Tag, offset: usize, what: &str, aid: &Aid, out: &mut Vec<Finding>) {
    if !aid.is_valid_length() {
        out.push(Finding::at(
            tag,
            offset,
            rule::AID_LENGTH,
            format!(
                "{what} AID {} has {} byte(s); an AID has 5 to 16",
                aid_text(aid),
                aid.as_bytes().len()
            ),
        ));
    }
}

/// Applet AIDs: valid length, and the RID of a package of this file.
fn applets(p: &Parts<'_>, out: &mut Vec<Finding>) {
    let Some(a) = p.applet else { return };
    // Compact files define one package; extended ones several, any of which
    // (or the CAP file's own AID) may own an applet.
    let owners: Vec<&Aid> = p.header.map_or_else(Vec::new, |h| {
        std::iter::once(&h.package.aid)
            .chain(h.packages.iter().map(|x| &x.package.aid))
            .collect()
    });
    for (e, (aid_at, _)) in a.applets.iter().zip(layout::applet(a, p.extended)) {
        length(Tag::Applet, aid_at, "applet", &e.aid, out);
        if owners.is_empty() || !e.aid.is_valid_length() {
            continue;
        }
        if !owners
            .iter()
            .any(|o| o.is_valid_length() && o.rid() == e.aid.rid())
        {
            let package = owners.first().map(|o| o.to_string()).unwrap_or_default();
            out.push(Finding::at(
                Tag::Applet,
                aid_at,
                rule::APPLET_RID,
                format!(
                    "applet AID {} has RID {}, the package {package} has RID {}",
                    e.aid,
                    hex::encode_upper(e.aid.rid()),
                    owners
                        .first()
                        .map(|o| hex::encode_upper(o.rid()))
                        .unwrap_or_default()
                ),
            ));
        }
    }
}
