//! SMS settings: which provider sends one-time codes (`FEIHONG_SMS_PROVIDER`), the provider's
//! credentials, and how many codes may be asked for.

use std::time::Duration;

use clap::{Args, ValueEnum};
use feihong_domain::sms::SmsLimits;
use feihong_domain::throttle::Limit;
use secrecy::SecretString;

use super::values::count;
use super::{ConfigError, Environment, problem};

/// The Alibaba Cloud SMS endpoint (Dysmsapi), used when none is given.
pub const ALIBABA_DEFAULT_ENDPOINT: &str = "https://dysmsapi.aliyuncs.com/";

#[derive(Debug, Clone, Args)]
pub struct SmsSettings {
    /// Who sends SMS codes: `log` (development only: writes the code to the log) or `alibaba`.
    #[arg(
        long,
        env = "FEIHONG_SMS_PROVIDER",
        default_value = "log",
        global = true,
        value_enum
    )]
    pub sms_provider: SmsProviderKind,
    /// Alibaba Cloud SMS endpoint URL.
    #[arg(long, env = "FEIHONG_SMS_ALIBABA_ENDPOINT", default_value = ALIBABA_DEFAULT_ENDPOINT, global = true)]
    pub sms_alibaba_endpoint: String,
    /// Alibaba Cloud AccessKey ID.
    #[arg(long, env = "FEIHONG_SMS_ALIBABA_ACCESS_KEY_ID", global = true)]
    pub sms_alibaba_access_key_id: Option<String>,
    /// Alibaba Cloud AccessKey secret.
    #[arg(long, env = "FEIHONG_SMS_ALIBABA_ACCESS_KEY_SECRET", global = true, hide_env_values = true,
        value_parser = secret)]
    pub sms_alibaba_access_key_secret: Option<SecretString>,
    /// The approved SMS signature name (签名).
    #[arg(long, env = "FEIHONG_SMS_ALIBABA_SIGN_NAME", global = true)]
    pub sms_alibaba_sign_name: Option<String>,
    /// The approved template code (模板), with a `${code}` variable.
    #[arg(long, env = "FEIHONG_SMS_ALIBABA_TEMPLATE_CODE", global = true)]
    pub sms_alibaba_template_code: Option<String>,
    /// SMS codes one phone may be sent per day.
    #[arg(long, env = "FEIHONG_SMS_CODES_PER_PHONE_PER_DAY", global = true, default_value_t = 10,
        value_parser = count::<u32>(1, 1000))]
    pub sms_codes_per_phone_per_day: u32,
    /// SMS codes one client address may ask for per day, whatever the phones.
    #[arg(long, env = "FEIHONG_SMS_CODES_PER_ADDRESS_PER_DAY", global = true, default_value_t = 100,
        value_parser = count::<u32>(1, 1_000_000))]
    pub sms_codes_per_address_per_day: u32,
}

fn secret(raw: &str) -> Result<SecretString, String> {
    Ok(SecretString::from(raw))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SmsProviderKind {
    Log,
    Alibaba,
}

/// Alibaba Cloud SMS (Dysmsapi `SendSms`). `Debug` shows the secret redacted.
#[derive(Debug, Clone)]
pub struct AlibabaSms {
    pub endpoint: String,
    pub access_key_id: String,
    pub access_key_secret: SecretString,
    pub sign_name: String,
    pub template_code: String,
}

#[derive(Debug, Clone)]
pub enum SmsProvider {
    Log,
    Alibaba(AlibabaSms),
}

#[derive(Debug, Clone)]
pub struct SmsConfig {
    pub provider: SmsProvider,
    pub limits: SmsLimits,
}

impl Default for SmsConfig {
    fn default() -> Self {
        Self {
            provider: SmsProvider::Log,
            limits: SmsLimits::default(),
        }
    }
}

fn required(value: Option<String>, name: &str) -> Result<String, ConfigError> {
    value
        .filter(|value| !value.trim().is_empty())
        .ok_or_else(|| problem(name, "required when FEIHONG_SMS_PROVIDER=alibaba"))
}

impl SmsSettings {
    pub(super) fn into_config(self, environment: Environment) -> Result<SmsConfig, ConfigError> {
        let provider = match self.sms_provider {
            SmsProviderKind::Log if environment == Environment::Production => {
                return Err(problem(
                    "FEIHONG_SMS_PROVIDER",
                    "`log` writes one-time codes to the log and is for development only; \
                     configure a real provider in production",
                ));
            }
            SmsProviderKind::Log => SmsProvider::Log,
            SmsProviderKind::Alibaba => SmsProvider::Alibaba(AlibabaSms {
                endpoint: self.sms_alibaba_endpoint,
                access_key_id: required(
                    self.sms_alibaba_access_key_id,
                    "FEIHONG_SMS_ALIBABA_ACCESS_KEY_ID",
                )?,
                access_key_secret: self.sms_alibaba_access_key_secret.ok_or_else(|| {
                    problem(
                        "FEIHONG_SMS_ALIBABA_ACCESS_KEY_SECRET",
                        "required when FEIHONG_SMS_PROVIDER=alibaba",
                    )
                })?,
                sign_name: required(self.sms_alibaba_sign_name, "FEIHONG_SMS_ALIBABA_SIGN_NAME")?,
                template_code: required(
                    self.sms_alibaba_template_code,
                    "FEIHONG_SMS_ALIBABA_TEMPLATE_CODE",
                )?,
            }),
        };
        let day = Duration::from_secs(24 * 3600);
        Ok(SmsConfig {
            provider,
            limits: SmsLimits {
                per_phone_daily: Limit {
                    max: self.sms_codes_per_phone_per_day,
                    window: day,
                },
                per_address_daily: Limit {
                    max: self.sms_codes_per_address_per_day,
                    window: day,
                },
                ..SmsLimits::default()
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use clap::Parser;
    use secrecy::ExposeSecret as _;

    use super::super::{Config, ConfigError, Settings};
    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        settings: Settings,
    }

    fn config(data_dir: &Path, args: &[&str]) -> Result<Config, ConfigError> {
        let dir = data_dir.display().to_string();
        let mut argv = vec!["feihong", "--data-dir", &dir];
        argv.extend_from_slice(args);
        Cli::try_parse_from(argv)
            .expect("valid flags")
            .settings
            .into_config()
    }

    #[test]
    fn the_log_sms_provider_is_refused_in_production() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            config(dir.path(), &[]).unwrap().sms.provider,
            SmsProvider::Log
        ));
        let settings = Cli::try_parse_from(["feihong", "--sms-provider=log"])
            .expect("valid flags")
            .settings;
        let error = settings
            .sms
            .into_config(Environment::Production)
            .unwrap_err();
        assert_eq!(error.name, "FEIHONG_SMS_PROVIDER", "{error}");
    }

    #[test]
    fn the_alibaba_provider_needs_its_credentials_and_hides_its_secret() {
        let dir = tempfile::tempdir().unwrap();
        let error = config(dir.path(), &["--sms-provider=alibaba"]).unwrap_err();
        assert_eq!(error.name, "FEIHONG_SMS_ALIBABA_ACCESS_KEY_ID");
        let config = config(
            dir.path(),
            &[
                "--sms-provider=alibaba",
                "--sms-alibaba-access-key-id=LTAI-id",
                "--sms-alibaba-access-key-secret=alibaba-hunter2",
                "--sms-alibaba-sign-name=飞鸿",
                "--sms-alibaba-template-code=SMS_1",
                "--sms-codes-per-phone-per-day=5",
            ],
        )
        .unwrap();
        let SmsProvider::Alibaba(alibaba) = &config.sms.provider else {
            panic!("expected alibaba");
        };
        assert_eq!(alibaba.endpoint, ALIBABA_DEFAULT_ENDPOINT);
        assert_eq!(alibaba.access_key_secret.expose_secret(), "alibaba-hunter2");
        assert_eq!(config.sms.limits.per_phone_daily.max, 5);
        assert_eq!(config.sms.limits.per_address_daily.max, 100);
        let shown = format!("{config:?}");
        assert!(!shown.contains("alibaba-hunter2"), "{shown}");
    }
}
