//! Status words explained in words a user can act on, per command
//! (GP 2.3.1 chapter 11 and ISO/IEC 7816-4 section 5.6).

/// The command a status word answered; the same SW means different things
/// after different commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommandKind {
    Select,
    InitializeUpdate,
    ExternalAuthenticate,
    GetData,
    GetStatus,
    InstallForLoad,
    Load,
    InstallForInstall,
    Delete,
    PutKey,
    SetStatus,
    /// INSTALL [for personalization]: names the application STORE DATA goes to.
    InstallForPersonalization,
    StoreData,
    /// INSTALL [for make selectable] alone: an installed instance becomes
    /// SELECTABLE.
    InstallForMakeSelectable,
    /// INSTALL [for extradition]: an application or load file moves to
    /// another security domain.
    InstallForExtradition,
    /// MANAGE CHANNEL: opening or closing a logical channel.
    ManageChannel,
    /// An APDU the user sent, or one jct does not classify.
    Other,
}

impl CommandKind {
    /// The name used in messages.
    pub fn name(&self) -> &'static str {
        match self {
            CommandKind::Select => "SELECT",
            CommandKind::InitializeUpdate => "INITIALIZE UPDATE",
            CommandKind::ExternalAuthenticate => "EXTERNAL AUTHENTICATE",
            CommandKind::GetData => "GET DATA",
            CommandKind::GetStatus => "GET STATUS",
            CommandKind::InstallForLoad => "INSTALL [for load]",
            CommandKind::Load => "LOAD",
            CommandKind::InstallForInstall => "INSTALL [for install]",
            CommandKind::Delete => "DELETE",
            CommandKind::PutKey => "PUT KEY",
            CommandKind::SetStatus => "SET STATUS",
            CommandKind::InstallForPersonalization => "INSTALL [for personalization]",
            CommandKind::StoreData => "STORE DATA",
            CommandKind::InstallForMakeSelectable => "INSTALL [for make selectable]",
            CommandKind::InstallForExtradition => "INSTALL [for extradition]",
            CommandKind::ManageChannel => "MANAGE CHANNEL",
            CommandKind::Other => "command",
        }
    }

    /// Every kind, for tables and tests.
    pub const ALL: [CommandKind; 17] = [
        CommandKind::Select,
        CommandKind::InitializeUpdate,
        CommandKind::ExternalAuthenticate,
        CommandKind::GetData,
        CommandKind::GetStatus,
        CommandKind::InstallForLoad,
        CommandKind::Load,
        CommandKind::InstallForInstall,
        CommandKind::InstallForMakeSelectable,
        CommandKind::InstallForPersonalization,
        CommandKind::InstallForExtradition,
        CommandKind::Delete,
        CommandKind::PutKey,
        CommandKind::SetStatus,
        CommandKind::StoreData,
        CommandKind::ManageChannel,
        CommandKind::Other,
    ];

    /// The status words a card can answer to this command besides 9000:
    /// those GP 2.3.1 lists for it (chapter 11 and Appendix E, Amendment
    /// D for the secure channel), and the ISO/IEC 7816-4 words every
    /// GlobalPlatform command can meet (wrong length, security status,
    /// wrong CLA or INS, no precise diagnosis). [`explain`] has a
    /// sentence of its own for each.
    pub fn status_words(&self) -> &'static [u16] {
        use CommandKind::*;
        match self {
            Select => &[
                0x6283, 0x6700, 0x6882, 0x6999, 0x6A81, 0x6A82, 0x6A86, 0x6A88, 0x6E00, 0x6F00,
            ],
            InitializeUpdate => &[
                0x6700, 0x6982, 0x6983, 0x6A86, 0x6A88, 0x6D00, 0x6E00, 0x6F00,
            ],
            ExternalAuthenticate => &[
                0x6300, 0x6700, 0x6982, 0x6983, 0x6985, 0x6A86, 0x6D00, 0x6E00, 0x6F00,
            ],
            GetData => &[0x6700, 0x6982, 0x6A86, 0x6A88, 0x6D00, 0x6E00, 0x6F00],
            GetStatus => &[
                0x6310, 0x6700, 0x6982, 0x6A80, 0x6A86, 0x6A88, 0x6D00, 0x6E00, 0x6F00,
            ],
            InstallForLoad
            | InstallForInstall
            | InstallForMakeSelectable
            | InstallForExtradition
            | InstallForPersonalization => &[
                0x6581, 0x6700, 0x6982, 0x6985, 0x6A80, 0x6A81, 0x6A84, 0x6A86, 0x6A88, 0x6D00,
                0x6E00, 0x6F00,
            ],
            Load => &[
                0x6581, 0x6700, 0x6982, 0x6985, 0x6A80, 0x6A81, 0x6A84, 0x6A86, 0x6A88, 0x6D00,
                0x6E00, 0x6F00,
            ],
            Delete => &[
                0x6581, 0x6700, 0x6982, 0x6985, 0x6A80, 0x6A82, 0x6A86, 0x6A88, 0x6D00, 0x6E00,
                0x6F00,
            ],
            PutKey => &[
                0x6581, 0x6700, 0x6982, 0x6985, 0x6A80, 0x6A84, 0x6A86, 0x6A88, 0x6D00, 0x6E00,
                0x6F00, 0x9484, 0x9485,
            ],
            SetStatus => &[
                0x6700, 0x6982, 0x6985, 0x6A80, 0x6A86, 0x6A88, 0x6D00, 0x6E00, 0x6F00,
            ],
            StoreData => &[
                0x6581, 0x6700, 0x6982, 0x6985, 0x6A80, 0x6A84, 0x6A86, 0x6A88, 0x6D00, 0x6E00,
                0x6F00,
            ],
            ManageChannel => &[0x6700, 0x6881, 0x6A81, 0x6A86, 0x6D00, 0x6E00, 0x6F00],
            Other => &[
                0x6700, 0x6982, 0x6985, 0x6A80, 0x6A82, 0x6A86, 0x6A88, 0x6D00, 0x6E00, 0x6F00,
            ],
        }
    }
}

/// The sentence alone of [`explain`] (no "X failed with SW" prefix), for
/// JSON output; `None` for a status word without one of its own.
pub fn meaning(kind: CommandKind, sw: u16) -> Option<String> {
    let text = explain(kind, sw);
    let (_, rest) = text.split_once(": ")?;
    (!rest.starts_with("unknown status word")).then(|| rest.to_string())
}

/// The likely cause of a status word after a command, in words.
pub fn explain(kind: CommandKind, sw: u16) -> String {
    use CommandKind::*;
    let specific: Option<&str> = match (sw, kind) {
        (0x6A86, InstallForMakeSelectable) => Some("wrong P1: the card does not support INSTALL [for make selectable] alone"),
        (0x6A80, InstallForMakeSelectable) => Some("the card rejected the INSTALL [for make selectable] data: a malformed instance AID or privileges"),
        (0x6A88, InstallForMakeSelectable) => Some("no instance with this AID on the card to make selectable; check `jct list`"),
        (0x6985, InstallForMakeSelectable) => Some("conditions not satisfied: the instance is not INSTALLED (it is selectable already, or locked)"),
        (0x6A84, InstallForMakeSelectable) => Some("not enough memory on the card to record the change"),
        (0x6A84, InstallForInstall) => Some("not enough memory on the card to create the applet instance, or its install() needed more than the memory quota given (--volatile-memory, --nonvolatile-memory)"),
        (0x6881, ManageChannel) => Some("logical channel not supported: the card has no logical channels, or not this one"),
        (0x6A81, ManageChannel) => Some("function not supported: no more logical channels are available (close one first)"),
        (0x6A86, ManageChannel) => Some("wrong P1/P2: a channel number the card does not have, or channel 0 to close"),
        (0x6700, ManageChannel) => Some("wrong length: MANAGE CHANNEL OPEN expects Le 01 and no data"),
        (0x6283, Select) => Some("warning: the card is CARD_LOCKED; only the Issuer Security Domain can be selected"),
        (0x6882, Select) => Some("secure messaging not supported: SELECT goes without secure messaging"),
        (0x6A81, Select) => Some("function not supported: the card is locked, or the application is locked"),
        (0x6A86, Select) => Some("wrong P1/P2: the card does not support this selection mode (by AID, first or next occurrence)"),
        (0x6A88, InitializeUpdate) => Some("referenced data not found: the card has no key set with this version (--key-ver)"),
        (0x6982, InitializeUpdate) => Some("security status not satisfied: the card refuses a new session now (its security domain is locked, or the key set is unusable)"),
        (0x6300, ExternalAuthenticate) => Some("the card rejected the host cryptogram: wrong keys or wrong key diversification (one authentication try was spent)"),
        (0x6985, ExternalAuthenticate) => Some("conditions not satisfied: EXTERNAL AUTHENTICATE without a preceding INITIALIZE UPDATE"),
        (0x6A86, ExternalAuthenticate) => Some("wrong P1: the card does not support the security level asked for (--mode)"),
        (0x6985, PutKey) => Some("conditions not satisfied: the key set cannot be replaced now, or the session may not change keys"),
        (0x6A84, PutKey) => Some("not enough memory on the card for another key set"),
        (0x6A86, PutKey) => Some("wrong P1/P2: the key version or key identifiers are not valid for this card"),
        (0x6A88, PutKey) => Some("referenced data not found: no key set with the version to replace (--replace)"),
        (0x6581, PutKey | StoreData | Delete) => Some("memory failure on the card while writing: its memory may be worn"),
        (0x6A80, SetStatus) => Some("the SET STATUS data is malformed, or the life cycle state is not a valid target"),
        (0x6A86, SetStatus) => Some("wrong P1/P2: the status type or the life cycle state is not one the card knows"),
        (0x6A86, Delete) => Some("wrong P1/P2: the card does not support this DELETE (e.g. of keys, or 'related objects')"),
        (0x6A82, Delete) => Some("application not found: nothing with this AID is on the card; check `jct list`"),
        (0x6A80, GetStatus) => Some("the GET STATUS search criteria are malformed"),
        (0x6A86, GetStatus) => Some("wrong P1/P2: the card does not support this scope or response format"),
        (0x6A86, InstallForPersonalization) => Some("wrong P1: the card does not support INSTALL [for personalization]"),
        (0x6A80, InstallForPersonalization) => Some("the card rejected the INSTALL [for personalization] data: a malformed application AID"),
        (0x6A81, InstallForPersonalization) => Some("function not supported: the card's life cycle or the security domain does not allow personalization"),
        (0x6A84, InstallForPersonalization) => Some("not enough memory on the card to start the personalization"),
        (0x6581, InstallForPersonalization | InstallForMakeSelectable) => Some("memory failure on the card while recording: its memory may be worn"),
        (0x6A81, InstallForMakeSelectable) => Some("function not supported: the card's life cycle or the security domain's privileges do not allow it"),
        (0x6581, ManageChannel) => Some("memory failure on the card"),
        (0x6A86, Load) => Some("wrong P1/P2: a LOAD block number out of sequence, or a last-block flag the card did not expect"),
        (0x6A86, InstallForLoad | InstallForInstall) => Some("wrong P1: the card does not support this INSTALL variant"),
        (0x6982, Load | InstallForLoad | InstallForInstall) => Some("security status not satisfied: the secure channel is not open or its security level is too low for card content management, a MAC was wrong (the channel is now closed), or a DAP or token the card requires is missing"),
        (0x6700, Load | InstallForLoad | InstallForInstall) => Some("wrong length: a field length inside the command data does not match, or the block is longer than the card accepts (--block-size)"),
        (0x6A80, InstallForLoad) => Some("the card rejected the INSTALL [for load] data: a malformed AID, a hash of the wrong length, load parameters it does not accept, or no Load File Data Block hash where a security domain verifies DAPs (jct load --dap)"),
        (0x6A80, Load) => Some("the card rejected the load file: a component is malformed, the Load File Data Block is inconsistent, or the CAP targets a newer Java Card version than the card runs, or a DAP signature (E2/C3) did not verify under the security domain's DAP key"),
        (0x6A80, InstallForInstall) => Some("the card rejected the INSTALL data: wrong privileges, malformed install parameters (C9 missing, a malformed EF system parameters block, a memory quota of the wrong size), or the applet refused its parameters in install()"),
        (0x6A80, PutKey) => Some("the key data is malformed: wrong key type or length, or a KCV that does not match the decrypted key"),
        (0x6A80, Delete) => Some("the DELETE data is malformed (tag 4F with the AID is expected)"),
        (0x6A80, StoreData) => Some("the application refused the data: a malformed record, or a value it does not accept"),
        (0x6A80, _) => Some("the command data is malformed or holds a value the card does not accept"),
        (0x6A84, Load | InstallForLoad) => Some("not enough memory on the card for this load file: delete unused packages or use a smaller CAP"),
        (0x6A84, StoreData) => Some("the application has no room for this data"),
        (0x6A84, _) => Some("not enough memory space on the card"),
        (0x6A88, Select) => Some("no application with this AID on the card (referenced data not found)"),
        (0x6A88, Delete) => Some("nothing with this AID is on the card; check `jct list`"),
        (0x6A88, GetData) => Some("the card does not hold this data object"),
        (0x6A88, SetStatus) => Some("no application or security domain with this AID"),
        (0x6A88, InstallForLoad) => Some("the security domain named for the load file is not on the card"),
        (0x6A88, InstallForInstall) => Some("the load file or applet class named is not on the card: load the CAP first, and check the applet AID"),
        (0x6A88, Load) => Some("referenced data not found: the load file imports a package the card does not have, or not in a version it can link (same major version, minor at most the card's)"),
        (0x6A88, InstallForPersonalization) => Some("no application with this AID on the card to personalize, or it is associated with another security domain (`jct list` shows which; personalize it through that one with --sd)"),
        (0x6985, InstallForPersonalization) => Some("conditions not satisfied: the application is locked, or it does not implement org.globalplatform.Application, so its security domain cannot pass it data"),
        (0x6985, StoreData) => Some("conditions not satisfied: no INSTALL [for personalization] named an application in this session, or its last block was already sent"),
        (0x6A86, StoreData) => Some("wrong P1/P2: a STORE DATA block number out of sequence (blocks count from 00)"),
        (0x6A88, StoreData) => Some("the application being personalized is no longer on the card"),
        (0x6A88, GetStatus) => Some("no entry matches (for load files, the card may hold none)"),
        (0x6A88, _) => Some("referenced data not found"),
        (0x6A82, Select) => Some("no application with this AID on the card"),
        (0x6A82, GetStatus) => Some("no entry matches the search criteria"),
        (0x6A82, _) => Some("file or application not found"),
        (0x6985, Delete) => Some("conditions of use not satisfied: the package is still used (instances exist, or another package imports it — try --related), or the object may not be deleted"),
        (0x6985, InstallForLoad) => Some("conditions not satisfied: a package with this AID is already on the card (delete it first), or the card's life cycle forbids loading"),
        (0x6985, InstallForInstall) => Some("conditions not satisfied: an instance with this AID already exists, or the applet's install() threw an exception"),
        (0x6985, Load) => Some("conditions not satisfied: LOAD without a preceding INSTALL [for load], a block out of sequence, or no DAP block for a security domain that verifies DAPs (DAP Verification or Mandated DAP privilege: jct dap sign, then jct load --dap)"),
        (0x6985, SetStatus) => Some("this life cycle transition is not allowed from the current state"),
        (0x6985, _) => Some("conditions of use not satisfied"),
        (0x6982, ExternalAuthenticate) => Some("the card rejected the host cryptogram: wrong keys or wrong key diversification"),
        (0x6982, _) => Some("security status not satisfied: the secure channel is not open, a MAC was wrong (the channel is now closed), or the command needs a higher security level"),
        (0x6983, InitializeUpdate | ExternalAuthenticate) => Some("authentication method blocked: too many failed authentications; the key set is locked"),
        (0x6983, _) => Some("authentication method blocked"),
        (0x6D00, _) => Some("instruction not supported: the selected application does not know this command (is the security domain selected?)"),
        (0x6E00, _) => Some("class not supported: the selected application rejects this CLA (secure messaging bit or logical channel)"),
        (0x6A86, InitializeUpdate) => Some("wrong P1/P2: the card has no key set with this version (--key-ver)"),
        (0x6A86, GetData) => Some("wrong P1/P2: the card does not support this data object"),
        (0x6A86, _) => Some("incorrect parameters P1/P2"),
        (0x6581, InstallForLoad | InstallForInstall) => Some("memory failure on the card while recording the load file or the instance: the card's memory may be worn"),
        (0x6A81, InstallForLoad | Load) => Some("function not supported: the card's life cycle (locked or terminated) or the security domain's privileges do not allow loading"),
        (0x6A81, InstallForInstall) => Some("function not supported: the card's life cycle or the security domain's privileges do not allow installing"),
        (0x6581, Load) => Some("memory failure while writing the load file: the card's memory may be worn"),
        (0x6581, _) => Some("memory failure on the card"),
        (0x6310, GetStatus) => Some("more data available: send GET STATUS with the 'next occurrence' flag"),
        (0x6310, _) => Some("more data available"),
        (0x6700, _) => Some("wrong length (Lc or Le)"),
        (0x6A81, _) => Some("function not supported by the card"),
        (0x6881, _) => Some("logical channel not supported: the card does not take commands on this channel"),
        (0x6882, _) => Some("secure messaging not supported for this command"),
        (0x6A87, _) => Some("Lc inconsistent with P1/P2"),
        (0x6B00, _) => Some("wrong parameters P1/P2"),
        (0x6999, Select) => Some("applet selection failed (the applet's select() returned false or it is not selectable)"),
        (0x6400, _) => Some("execution error: the card state did not change"),
        (0x6F00, _) => Some("the card reported an internal error (an uncaught exception in the applet, or a card fault)"),
        (0x9484, _) => Some("algorithm not supported"),
        (0x9485, _) => Some("invalid key check value"),
        _ => None,
    };
    let text = match specific {
        Some(t) => t.to_string(),
        None => match sw >> 8 {
            0x61 => format!("{} more byte(s) available (GET RESPONSE)", sw & 0xFF),
            0x6C => format!("wrong Le: the card has {} byte(s)", sw & 0xFF),
            0x63 if sw & 0xF0 == 0xC0 => format!("verification failed, {} tries left", sw & 0x0F),
            0x90 if sw == 0x9000 => "success".to_string(),
            _ => "unknown status word".to_string(),
        },
    };
    format!("{} failed with SW {sw:04X}: {text}", kind.name())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every status word GP 2.3.1 lists for INSTALL and LOAD (11.5.3,
    /// 11.6.3) and the ISO words cards give for them has an explanation
    /// of its own, not the generic one.
    #[test]
    fn load_and_install_words_are_explained_for_their_command() {
        for kind in [
            CommandKind::InstallForLoad,
            CommandKind::Load,
            CommandKind::InstallForInstall,
        ] {
            for sw in [
                0x6581, 0x6A80, 0x6A84, 0x6A88, 0x6985, 0x6A81, 0x6A86, 0x6982, 0x6700,
            ] {
                let text = explain(kind, sw);
                assert!(!text.contains("unknown"), "{text}");
                let generic = explain(CommandKind::Other, sw);
                let specific = [(0x6A88, CommandKind::Load), (0x6A81, CommandKind::Load)];
                if specific.contains(&(sw, kind)) {
                    assert_ne!(
                        text.split_once(": ").map(|x| x.1),
                        generic.split_once(": ").map(|x| x.1),
                        "{kind:?} {sw:04X}"
                    );
                }
            }
        }
    }

    /// The table walked whole: every status word a command lists has a
    /// sentence (not the unknown-word one), and one no command lists
    /// says it is unknown, with its hex.
    #[test]
    fn every_listed_status_word_has_a_sentence() {
        for kind in CommandKind::ALL {
            assert!(!kind.status_words().is_empty(), "{kind:?}");
            for &sw in kind.status_words() {
                let text = explain(kind, sw);
                assert!(
                    text.starts_with(&format!("{} failed with SW {sw:04X}: ", kind.name())),
                    "{text}"
                );
                assert!(!text.contains("unknown status word"), "{kind:?}: {text}");
                let m = meaning(kind, sw).unwrap_or_default();
                assert!(m.len() > 15, "{kind:?} {sw:04X}: {m}");
            }
            let unknown = explain(kind, 0x6B42);
            assert!(
                unknown.contains("6B42") && unknown.contains("unknown status word"),
                "{unknown}"
            );
            assert_eq!(meaning(kind, 0x6B42), None);
        }
        // The words GP names for one command get that command's sentence.
        for (kind, sw, words) in [
            (CommandKind::ManageChannel, 0x6A81, "logical channels"),
            (CommandKind::ExternalAuthenticate, 0x6300, "host cryptogram"),
            (CommandKind::InstallForInstall, 0x6A84, "quota"),
            (
                CommandKind::InstallForMakeSelectable,
                0x6985,
                "not INSTALLED",
            ),
            (CommandKind::PutKey, 0x9485, "key check value"),
            (CommandKind::Select, 0x6283, "CARD_LOCKED"),
            (CommandKind::InitializeUpdate, 0x6A88, "--key-ver"),
        ] {
            assert!(explain(kind, sw).contains(words), "{kind:?} {sw:04X}");
        }
    }

    #[test]
    fn explanations_depend_on_the_command() {
        let load = explain(CommandKind::Load, 0x6A80);
        let select = explain(CommandKind::Select, 0x6A88);
        assert!(load.starts_with("LOAD failed with SW 6A80"), "{load}");
        assert!(load.contains("load file"));
        assert!(select.contains("no application"));
        for sw in [
            0x6A80, 0x6A84, 0x6A88, 0x6985, 0x6982, 0x6983, 0x6D00, 0x6E00, 0x6A86, 0x6581, 0x6310,
        ] {
            for kind in [
                CommandKind::InstallForLoad,
                CommandKind::Delete,
                CommandKind::Other,
            ] {
                assert!(!explain(kind, sw).contains("unknown"), "{sw:04X} {kind:?}");
            }
        }
        assert!(explain(CommandKind::Other, 0x6C10).contains("16 byte"));
        assert!(explain(CommandKind::Other, 0x1234).contains("unknown"));
    }
}
