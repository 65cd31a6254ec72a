//! The one interface every SMS provider implements, and the development one that only logs.

use futures::future::BoxFuture;

use super::codes::SmsPurpose;
use crate::error::Result;
use crate::values::mask_phone;

/// One text to send: a code for a phone. Not `Debug`: the code never reaches a log by accident.
pub struct SmsMessage {
    pub phone: String,
    pub purpose: SmsPurpose,
    pub code: String,
}

/// Sends text messages. An `Err` is a failed delivery: the outbox keeps the message and tries
/// again later.
pub trait SmsSender: Send + Sync {
    fn send<'a>(&'a self, message: &'a SmsMessage) -> BoxFuture<'a, Result<()>>;
}

/// Development only (refused at start-up in production): writes the code to the log.
pub struct LogSender;

impl SmsSender for LogSender {
    fn send<'a>(&'a self, message: &'a SmsMessage) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            tracing::info!(
                phone = %mask_phone(&message.phone),
                purpose = message.purpose.as_str(),
                code = %message.code,
                "development SMS (FEIHONG_SMS_PROVIDER=log): one-time code"
            );
            Ok(())
        })
    }
}
