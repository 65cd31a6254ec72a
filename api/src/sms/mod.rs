//! The SMS senders the configuration chooses from (`FEIHONG_SMS_PROVIDER`).

pub mod alibaba;

use std::sync::Arc;

use feihong_domain::sms::{LogSender, SmsSender};

use crate::config::sms::{SmsConfig, SmsProvider};

/// The sender the configuration names.
pub fn sender(config: &SmsConfig) -> anyhow::Result<Arc<dyn SmsSender>> {
    Ok(match &config.provider {
        SmsProvider::Log => Arc::new(LogSender),
        SmsProvider::Alibaba(settings) => Arc::new(alibaba::AlibabaSender::new(settings.clone())?),
    })
}
