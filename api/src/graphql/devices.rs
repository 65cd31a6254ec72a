//! Push devices: `registerDevice`, `unregisterDevice`, `myDevices`.

use async_graphql::{Context, Enum, Object};
use chrono::{DateTime, Utc};
use feihong_domain::devices::Device as DomainDevice;
use feihong_domain::kinds;

use super::context::ContextExt as _;
use super::error::GqlResult;
use crate::locale::current_locale;

/// What kind of device a push token belongs to.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "kinds::DevicePlatform")]
pub enum DevicePlatform {
    Ios,
    Android,
    /// HarmonyOS (Push Kit).
    Harmony,
    /// A browser (Web Push).
    Web,
}

/// A device that receives the volunteer's notifications as pushes.
pub struct Device(DomainDevice);

#[Object]
impl Device {
    async fn platform(&self) -> DevicePlatform {
        self.0.platform.into()
    }

    /// The token, masked: its last four characters only (`…a1b2`).
    async fn token(&self) -> &str {
        &self.0.masked_token
    }

    async fn registered_at(&self) -> DateTime<Utc> {
        self.0.registered_at
    }
}

#[derive(Default)]
pub struct DeviceQuery;

#[Object]
impl DeviceQuery {
    /// The caller's devices, newest first (at most 10), tokens masked.
    async fn my_devices(&self, ctx: &Context<'_>) -> GqlResult<Vec<Device>> {
        let actor = ctx.request().actor().await?;
        let devices = ctx.services().devices.mine(actor).await?;
        Ok(devices.into_iter().map(Device).collect())
    }
}

#[derive(Default)]
pub struct DeviceMutation;

#[Object]
impl DeviceMutation {
    /// Registers this device for pushes of the caller's notifications. A token registered
    /// before by another account moves to the caller. At most 10 devices per volunteer:
    /// registering another drops the oldest. The token: 1–512 printable ASCII characters. The
    /// request's language (`Accept-Language`) becomes the one the caller's pushes are written in.
    async fn register_device(
        &self,
        ctx: &Context<'_>,
        platform: DevicePlatform,
        token: String,
    ) -> GqlResult<Device> {
        let actor = ctx.request().actor().await?;
        let device = ctx
            .services()
            .devices
            .register(actor, platform.into(), &token, current_locale())
            .await?;
        Ok(Device(device))
    }

    /// Stops pushes to one of the caller's devices. `true` when it was theirs and is removed;
    /// `false` for a token that is not theirs, whether unknown or another account's.
    async fn unregister_device(&self, ctx: &Context<'_>, token: String) -> GqlResult<bool> {
        let actor = ctx.request().actor().await?;
        Ok(ctx.services().devices.unregister(actor, &token).await?)
    }
}
