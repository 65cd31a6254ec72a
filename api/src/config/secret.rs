//! The data folder, the token secret and the data key (`data_key`, the same way): production takes the secret from the environment;
//! development keeps a generated one in the data folder, readable by its owner only.

use std::path::Path;

use secrecy::SecretString;

use super::{ConfigError, Environment, problem};

const SECRET_FILE: &str = "token-secret";
const SECRET_ENV: &str = "FEIHONG_TOKEN_SECRET";
const DATA_KEY_FILE: &str = "data-key";
pub(super) const DATA_KEY_ENV: &str = "FEIHONG_DATA_KEY";

/// Creates the data folder when missing, readable by its owner only (0700): it holds the
/// database and the token secret. An existing folder is left as the operator made it.
pub(super) fn ensure_data_dir(dir: &Path) -> Result<(), ConfigError> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(|error| {
        problem(
            "FEIHONG_DATA_DIR",
            format!("cannot create {}: {error}", dir.display()),
        )
    })
}

/// Production takes the secret from the environment only. Development generates one on first
/// start and keeps it in the data folder, so sessions survive restarts.
pub(super) fn token_secret(
    environment: Environment,
    data_dir: &Path,
) -> Result<SecretString, ConfigError> {
    if let Ok(secret) = std::env::var(SECRET_ENV)
        && !secret.is_empty()
    {
        if secret.len() < 32 {
            return Err(problem(SECRET_ENV, "must be at least 32 characters"));
        }
        return Ok(SecretString::from(secret));
    }
    if environment == Environment::Production {
        return Err(problem(
            SECRET_ENV,
            "is required when FEIHONG_ENV=production",
        ));
    }
    ensure_data_dir(data_dir)?;
    let path = data_dir.join(SECRET_FILE);
    match std::fs::read_to_string(&path) {
        Ok(existing) if existing.trim().len() >= 32 => {
            return Ok(SecretString::from(existing.trim()));
        }
        Ok(_) => {
            return Err(problem(
                SECRET_ENV,
                format!("{} is too short; delete it", path.display()),
            ));
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
        Err(error) => {
            return Err(problem(
                SECRET_ENV,
                format!("cannot read {}: {error}", path.display()),
            ));
        }
    }
    let secret = feihong_domain::tokens::random_token();
    write_private_file(&path, &secret).map_err(|error| {
        problem(
            SECRET_ENV,
            format!("cannot write {}: {error}", path.display()),
        )
    })?;
    Ok(SecretString::from(secret))
}

/// The data key's 32 bytes, if `encoded` is base64 of exactly that many.
pub(super) fn decode_data_key(encoded: &str) -> Option<Vec<u8>> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()
        .filter(|bytes| bytes.len() == feihong_domain::real_names::cipher::KEY_BYTES)
}

/// The data key, like the token secret: production takes it from `FEIHONG_DATA_KEY` and refuses
/// to start without it; development generates one on first start into the data folder (0600),
/// so real names recorded there stay readable across restarts.
pub(super) fn data_key(
    environment: Environment,
    data_dir: &Path,
    given: Option<SecretString>,
) -> Result<SecretString, ConfigError> {
    use secrecy::ExposeSecret as _;
    if let Some(key) = given.filter(|key| !key.expose_secret().is_empty()) {
        return Ok(key);
    }
    if environment == Environment::Production {
        return Err(problem(
            DATA_KEY_ENV,
            "is required when FEIHONG_ENV=production (base64 of 32 random bytes)",
        ));
    }
    ensure_data_dir(data_dir)?;
    let path = data_dir.join(DATA_KEY_FILE);
    match std::fs::read_to_string(&path) {
        Ok(existing) if decode_data_key(&existing).is_some() => {
            return Ok(SecretString::from(existing.trim()));
        }
        Ok(_) => {
            return Err(problem(
                DATA_KEY_ENV,
                format!("{} is not base64 of 32 bytes", path.display()),
            ));
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
        Err(error) => {
            return Err(problem(
                DATA_KEY_ENV,
                format!("cannot read {}: {error}", path.display()),
            ));
        }
    }
    let key = feihong_domain::real_names::cipher::generate_key();
    write_private_file(&path, &key).map_err(|error| {
        problem(
            DATA_KEY_ENV,
            format!("cannot write {}: {error}", path.display()),
        )
    })?;
    Ok(SecretString::from(key))
}

fn write_private_file(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(contents.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn the_data_folder_and_the_secret_file_are_private() {
        use std::os::unix::fs::PermissionsExt as _;
        let parent = tempfile::tempdir().unwrap();
        let dir = parent.path().join("data");
        ensure_data_dir(&dir).unwrap();
        let mode = std::fs::metadata(&dir).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700, "{mode:o}");
        write_private_file(&dir.join(SECRET_FILE), "s").unwrap();
        let secret = std::fs::metadata(dir.join(SECRET_FILE)).unwrap();
        assert_eq!(secret.permissions().mode() & 0o777, 0o600);
    }

    #[test]
    fn production_refuses_a_missing_or_blank_data_key_and_generates_none() {
        let dir = tempfile::tempdir().unwrap();
        let error = data_key(Environment::Production, dir.path(), None).unwrap_err();
        assert_eq!(error.name, DATA_KEY_ENV);
        assert!(error.problem.contains("required"), "{}", error.problem);
        let blank = Some(SecretString::from(""));
        assert!(data_key(Environment::Production, dir.path(), blank).is_err());
        assert!(!dir.path().join(DATA_KEY_FILE).exists());
    }

    #[test]
    fn production_takes_the_data_key_it_is_given() {
        use secrecy::ExposeSecret as _;
        let dir = tempfile::tempdir().unwrap();
        let key = feihong_domain::real_names::cipher::generate_key();
        let given = Some(SecretString::from(key.clone()));
        let taken = data_key(Environment::Production, dir.path(), given).unwrap();
        assert_eq!(taken.expose_secret(), key);
        assert_eq!(decode_data_key(&key).map(|bytes| bytes.len()), Some(32));
    }

    #[cfg(unix)]
    #[test]
    fn the_generated_data_key_file_is_private() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        data_key(Environment::Development, dir.path(), None).unwrap();
        let file = std::fs::metadata(dir.path().join(DATA_KEY_FILE)).unwrap();
        assert_eq!(file.permissions().mode() & 0o777, 0o600);
    }
}
