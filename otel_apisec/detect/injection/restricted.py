"""Restricted files: requests for what a web server must never serve, named in the path or in a
parameter. Secrets files (`.env`, `.aws/credentials`, SSH keys), version-control metadata
(`.git/`, `.svn/`), server and framework configuration (`web.config`, `wp-config.php`) and
backups or dumps (`.bak`, `.sql`, `site.tar.gz`, `index.php~`). Like the CRS rules 930130
(restricted files) and 920440 (restricted extensions), at paranoia level 1.

Only a whole path component counts: `.env` opening a value or after a slash, never `.env` inside
prose ("copy your .env file") or a longer name (`.environment`).
"""

from __future__ import annotations

import re2

from otel_apisec.detect.engine import Trigger
from otel_apisec.detect.injection.view import View

__all__ = ["TRIGGERS", "check"]

# Directories whose content is private: version control, credentials, IDE and tool state.
_DIRS = r"git|svn|hg|bzr|cvs|aws|ssh|gnupg|docker|kube|azure|gcloud|idea|vscode|terraform"
# Dotfiles that hold secrets or server settings.
_DOTFILES = (
    r"env(\.[\w-]{1,32})?|htpasswd|htaccess|htdigest|npmrc|yarnrc|pypirc|pgpass|netrc|s3cfg|boto|my\.cnf"
    r"|dockercfg|git-credentials|gitconfig|ds_store|bash_history|zsh_history|sh_history"
    r"|mysql_history|psql_history|python_history|node_repl_history|viminfo|rediscli_history|ftpconfig"
    r"|history|bashrc|bash_profile|profile"
)
# Configuration and key files of servers and frameworks, by their fixed names.
_CONFIGS = (
    r"web\.config|wp-config\.php|configuration\.php|localsettings\.php|config\.inc\.php|config\.php"
    r"|settings\.php|local\.xml|tomcat-users\.xml|database\.ya?ml|secrets\.ya?ml"
    r"|credentials\.ya?ml|master\.key|parameters\.ya?ml|appsettings(\.[\w-]{1,32})?\.json"
    r"|application(-[\w-]{1,32})?\.(properties|ya?ml)|docker-compose(\.[\w-]{1,32})?\.ya?ml"
    r"|id_(rsa|dsa|ecdsa|ed25519)(\.pub)?|authorized_keys|known_hosts|php\.ini|httpd\.conf"
    r"|nginx\.conf|phpinfo\.php|sftp-config\.json|service-account\.json|credentials\.json"
    r"|terraform\.tfstate(\.backup)?|terraform\.tfvars"
)
# Extensions of backups, editor leftovers and database dumps.
_BACKUP_EXT = r"bak|backup|bkp|old|orig|save|sav|swp|swo|tmp|sql|dump|dmp|mdb|accdb|sqlite3?|db3|psql|rdb"
_ARCHIVE_EXT = r"tar\.gz|tgz|tar\.bz2|tbz2?|tar\.xz|txz|tar|zip|rar|7z|gz|bz2|xz|war|jar"
_STEM = (
    r"(backups?|bak|dump|db|database|sql|mysql|site|www|wwwroot|htdocs|public_html|webroot|web|html|data"
    r"|export|archive|old|home|root|admin|files|src|source|app|website|prod|production|latest|full)"
)
_ARCHIVE_STEMS = _STEM + r"([-_.](" + _STEM + r"|\d{1,8}([-_]\d{1,2}){0,2}))?|\d{4}[-_]?\d{2}[-_]?\d{2}"
"""Names of whole-site or database archives: `backup.zip`, `www.tar.gz`, `db_2024.sql`, `2024-01-31.zip`."""

TRIGGERS: tuple[Trigger, ...] = (
    # a dot-directory or dotfile as a whole component: opening the text or after a separator
    Trigger(r"(^|\xff|[/\\=:\"'])\.(" + _DIRS + r"|" + _DOTFILES + r")", caseless=True),
    Trigger(r"(^|\xff|[/\\=:\"'])(" + _CONFIGS + r")", caseless=True),
    # a backup or dump extension, or an editor's `~`, ending the text
    Trigger(r"\.(" + _BACKUP_EXT + r")(\.(" + _ARCHIVE_EXT + r"))?\s*($|\xff|\"|[?#;])", caseless=True),
    Trigger(r"\w~\s*($|\xff|\"|[?#;])"),
    Trigger(r"\.(" + _ARCHIVE_EXT + r")\s*($|\xff|\"|[?#;])", caseless=True),
)

# A component ends at a separator, a query or fragment, a Tomcat `;` or an NTFS `::$DATA` stream.
_END = r"(\s*$|[/\\?#;]|::)"
_START = r"(^\s*|[/\\])"
_DIR = re2.compile(r"(?i)" + _START + r"\.(" + _DIRS + r")([/\\]|\s*$)")
_DOTFILE = re2.compile(r"(?i)" + _START + r"\.(" + _DOTFILES + r")" + _END)
_CONFIG = re2.compile(r"(?i)" + _START + r"(" + _CONFIGS + r")" + _END)
# Any name with a backup extension (in the path or a path-like value).
_BACKUP = re2.compile(r"(?i)[\w-]\.(" + _BACKUP_EXT + r")(\.(" + _ARCHIVE_EXT + r"))?(\s*$|[?#;])")
# A code or configuration file's backup, anywhere: `index.php.bak`, `config.php~`, `.env.old`.
_CODE_BACKUP = re2.compile(
    r"(?i)[\w-]\.(php\d?|phtml|asp|aspx|jsp|cfm|cgi|pl|py|rb|js|inc|conf|config|cfg|ini|xml|ya?ml|json|env"
    r"|properties|htaccess|sql)(\.(" + _BACKUP_EXT + r")|~)\s*$"
)
_ARCHIVE = re2.compile(r"(?i)" + _START + r"(" + _ARCHIVE_STEMS + r")\.(" + _ARCHIVE_EXT + r")(\s*$|[?#;])")
# A database dump by its name, anywhere: `backup.sql`, `db_2024-01-31.sql.gz`, `dump.sql`.
_DUMP = re2.compile(r"(?i)" + _START + r"(" + _ARCHIVE_STEMS + r")\.(sql|dump)(\.(" + _ARCHIVE_EXT + r"))?(\s*$|[?#;])")
_PATH_LIKE = re2.compile(r"(?i)^\s*(\.{0,2}[/\\]|~[/\\]|[a-z]:\\)|[/\\]")
_MAX_CHARS = 4096
"""A path or file name is short; past this a text is content, and only its start is looked at."""


def check(view: View) -> str | None:
    """A message when the field names a restricted file, else None."""
    for text in view.texts:
        text = text[:_MAX_CHARS]
        if _DIR.search(text):
            return "Request for a version-control or credentials directory"
        if _DOTFILE.search(text) or _CONFIG.search(text):
            return "Request for a secrets or server configuration file"
        if _CODE_BACKUP.search(text):
            return "Request for a backup copy of a source or configuration file"
        # Backups and archives: any name in the path, a path-like parameter (an upload called
        # `notes.old` or `Backup.zip` is not one); database dumps by name anywhere.
        path_like = view.in_path or _PATH_LIKE.search(text) is not None
        if (path_like and (_BACKUP.search(text) or _ARCHIVE.search(text))) or _DUMP.search(text):
            return "Request for a backup, archive or database dump"
    return None
