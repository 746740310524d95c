//! Saying what went wrong when the database cannot be opened: the URL that was tried (its
//! password masked), the cause in the driver's words, and what to do about it.

use std::path::Path;

use sea_orm::DbErr;

use crate::Error;

/// The URL with any password replaced by `***`.
pub fn masked(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}

/// Whether flowgate can use this URL at all (SQLite or PostgreSQL).
pub fn check_url(url: &str) -> Result<(), Error> {
    let scheme = url.split_once(':').map(|(scheme, _)| scheme);
    match scheme {
        Some("sqlite") => Ok(()),
        Some("postgres" | "postgresql") if url::Url::parse(url).is_ok() => Ok(()),
        _ => Err(Error::attribute(
            "database_url",
            format!(
                "{} is not a database URL flowgate can use: give sqlite://PATH?mode=rwc (the \
                 embedded default) or postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE",
                masked(url)
            ),
        )),
    }
}

/// A SQLite file's folder must exist before the driver can create the file in it.
pub fn check_sqlite_folder(url: &str, path: &str) -> Result<(), Error> {
    let folder = Path::new(path)
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if folder.is_dir() {
        return Ok(());
    }
    Err(Error::Unavailable(format!(
        "cannot open {url}: the folder {} does not exist. Create it, or point DATABASE_URL \
         (or --database-url) at a file in an existing folder.",
        folder.display()
    )))
}

/// What to do about a failure, judged from the driver's words.
fn hint(url: &str, cause: &str) -> String {
    let lower = cause.to_lowercase();
    let host = url::Url::parse(url)
        .ok()
        .map(|u| {
            format!(
                "{}:{}",
                u.host_str().unwrap_or("localhost"),
                u.port().unwrap_or(5432)
            )
        })
        .unwrap_or_default();
    let database = url
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .split('?')
        .next()
        .unwrap_or_default();
    if let Some(advice) = tls_hint(url, &lower) {
        advice
    } else if lower.contains("readonly")
        || lower.contains("read-only")
        || lower.contains("read only")
    {
        "The database (or its folder) is read-only for this user: make it writable, or \
         choose another path."
            .into()
    } else if lower.contains("unable to open database file") {
        "Check that the folder exists and is writable, and that the path is right.".into()
    } else if lower.contains("role \"")
        || lower.contains("password authentication failed")
        || lower.contains("authentication")
    {
        "Check the user and password in the URL.".into()
    } else if lower.contains("does not exist") && lower.contains("database") {
        format!(
            "Create it first: createdb -h {} {database}",
            host.replace(':', " -p ")
        )
    } else if lower.contains("refused")
        || lower.contains("timed out")
        || lower.contains("failed to lookup")
        || lower.contains("name or service")
    {
        format!(
            "Is PostgreSQL running and reachable at {host}? Try: pg_isready -h {}",
            host.replace(':', " -p ")
        )
    } else {
        "Check DATABASE_URL (or --database-url, or database_url in the config file).".into()
    }
}

/// What to do about a TLS failure on PostgreSQL (`sslmode`, `sslrootcert` in the URL), if the
/// cause is one.
fn tls_hint(url: &str, lower: &str) -> Option<String> {
    let parameter = |name: &str| {
        url::Url::parse(url).ok().and_then(|u| {
            u.query_pairs()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.into_owned())
        })
    };
    let root = parameter("sslrootcert");
    if lower.contains("server does not support tls") {
        return Some(
            "The server does not offer TLS: turn on ssl in postgresql.conf (ssl = on, with \
             ssl_cert_file and ssl_key_file), or connect without sslmode=require/verify-ca/\
             verify-full."
                .into(),
        );
    }
    if let Some(root) = root
        .as_deref()
        .filter(|_| lower.contains("no such file") || lower.contains("invalid certificate"))
    {
        return Some(format!(
            "sslrootcert={root} must name a readable PEM file holding the certificate of the \
             authority that signed the server's certificate."
        ));
    }
    if lower.contains("notvalidforname") || lower.contains("not valid for name") {
        return Some(
            "The server's certificate does not name the host in the URL: with \
             sslmode=verify-full, connect with the host name the certificate was issued for \
             (see its subject alternative names), or use sslmode=verify-ca."
                .into(),
        );
    }
    let about_certificates = lower.contains("certificate")
        || lower.contains("unknownissuer")
        || lower.contains("tls")
        || lower.contains("ssl");
    if !about_certificates {
        return None;
    }
    Some(match root {
        Some(root) => format!(
            "The server's certificate could not be verified against sslrootcert={root}: that \
             file must hold the certificate of the authority that signed it (for a \
             self-signed server certificate, the certificate itself). sslmode=require \
             encrypts without verifying."
        ),
        None => "The server's certificate could not be verified: add sslrootcert=PATH (the \
                 PEM certificate of the authority that signed it) to the URL, or use \
                 sslmode=require to encrypt without verifying."
            .into(),
    })
}

/// The error of a failed open, migration or seeding, with the URL tried and advice.
pub fn failure(url: &str, doing: &str, err: DbErr) -> Error {
    let cause = match &err {
        DbErr::Conn(inner) | DbErr::Exec(inner) | DbErr::Query(inner) => inner.to_string(),
        other => other.to_string(),
    };
    described(url, doing, &err, cause)
}

/// A pool that timed out hides why it could not connect: one direct connection tells.
pub async fn open_failure(url: &str, err: DbErr) -> Error {
    use sea_orm::sqlx::Connection;
    let timed_out = err.to_string().contains("timed out");
    if timed_out && !url.starts_with("sqlite:") {
        let probe = tokio::time::timeout(
            std::time::Duration::from_secs(5),
            sea_orm::sqlx::postgres::PgConnection::connect(url),
        )
        .await;
        if let Ok(Err(cause)) = probe {
            return described(url, "open", &err, cause.to_string());
        }
    }
    failure(url, "open", err)
}

fn described(url: &str, doing: &str, err: &DbErr, cause: String) -> Error {
    tracing::debug!(url = %masked(url), error = ?err, %cause, "{doing} failed");
    Error::Unavailable(format!(
        "cannot {doing} {}: {cause}. {}",
        masked(url),
        hint(url, &cause)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_masked() {
        assert_eq!(
            masked("postgres://app:s3cret@db.example:5433/flow"),
            "postgres://app:***@db.example:5433/flow"
        );
        assert_eq!(
            masked("sqlite://flowgate.db?mode=rwc"),
            "sqlite://flowgate.db?mode=rwc"
        );
    }

    #[test]
    fn only_sqlite_and_postgres_urls_are_taken() {
        assert!(check_url("sqlite://flowgate.db?mode=rwc").is_ok());
        assert!(check_url("postgres://u@h/d").is_ok());
        for bad in ["mysql://root@localhost/test", "not-a-url", ""] {
            let err = check_url(bad).unwrap_err().to_string();
            assert!(
                err.contains("sqlite://") && err.contains("postgres://"),
                "{err}"
            );
        }
        let err = check_url("mysql://root:pw@localhost/x")
            .unwrap_err()
            .to_string();
        assert!(!err.contains("pw@"), "{err}");
    }

    #[test]
    fn hints_follow_the_cause() {
        let url = "postgres://u:p@127.0.0.1:5433/nope";
        assert!(
            hint(url, "database \"nope\" does not exist")
                .contains("createdb -h 127.0.0.1 -p 5433 nope")
        );
        assert!(
            hint(url, "Connection refused (os error 111)")
                .contains("pg_isready -h 127.0.0.1 -p 5433")
        );
        assert!(
            hint(url, "password authentication failed for user \"u\"")
                .contains("user and password")
        );
        assert!(
            hint("sqlite://x.db", "attempt to write a readonly database").contains("read-only")
        );
        let tls = "postgres://u@db.example/flow?sslmode=verify-full&sslrootcert=/etc/ca.pem";
        let unknown = "error communicating with database: invalid peer certificate: UnknownIssuer";
        assert!(hint(tls, unknown).contains("sslrootcert=/etc/ca.pem"));
        assert!(hint(tls, "invalid peer certificate: NotValidForName").contains("host name"));
        assert!(hint(tls, "No such file or directory (os error 2)").contains("readable PEM"));
        assert!(
            hint(
                tls,
                "error occurred while attempting to establish a TLS connection: server \
                       does not support TLS"
            )
            .contains("ssl = on")
        );
    }
}
