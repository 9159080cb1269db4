//! The mysql client option file: one `[client_<key>]` group per world.

use super::names::group_suffix;
use super::World;

/// The option file's text. Group suffixes are the escaped world names, so a world name
/// cannot open or close a group.
pub fn render(worlds: &[World], database: &str) -> String {
    let mut out = String::from(
        "# Written by `worlds env`. Use it like:\n\
         #   mysql --defaults-file=THIS_FILE --defaults-group-suffix=_host1\n",
    );
    for w in worlds {
        let pw = w.password.as_deref().unwrap_or("");
        out.push_str(&format!(
            "\n[client{suffix}]\nhost=127.0.0.1\nport={port}\nuser=root\npassword={pw}\nprotocol=TCP\n\
             \n[mysql{suffix}]\ndatabase={database}\n\n[mariadb-client{suffix}]\ndatabase={database}\n",
            suffix = group_suffix(w.name()),
            port = w.container.port,
        ));
    }
    out
}
