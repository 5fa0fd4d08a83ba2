//! The one seam every detector plugs into: the [`Detector`] trait, the
//! [`Family`] trait the engine drives, and the [`family!`] macro that turns a
//! list of detectors into a family (its per-flow struct, dispatch and
//! `done`).
//!
//! Everything is static dispatch: a family is a plain struct with one field
//! per detector, and the generated loops call each field's hooks directly,
//! so the per-packet path has no trait objects and no allocation.
//!
//! Adding a detector touches two places: its own file (a `Default` struct
//! implementing [`Detector`]) and one registration line in its family's
//! `family!` list (`mod my_vpn { my_vpn: MyVpn }`), which declares the module,
//! adds the field, and wires the hooks and `done()`.

use super::{Confidence, Detection, FlowFacts, PacketView, Protocol};
use crate::decode::IpProto;

/// One detector: a small per-flow state machine that looks at a flow's first
/// payload packets and/or the dissectors' facts and reports [`Detection`]s.
///
/// Every hook but [`Detector::done`] defaults to doing nothing, so a
/// detector implements only what it reads. The family calls a hook only
/// while the detector is not [`done`](Detector::done) and only for flows
/// whose transport it [`accepts`](Detector::accepts).
pub trait Detector: Default {
    /// The family settings the detector reads (built once from the config,
    /// shared by every worker).
    type Ctx;

    /// What it reports. A detector that can report variants of one
    /// protocol (WireGuard → Tailscale, Cloudflare WARP) names the main one.
    const PROTOCOL: Protocol;

    /// The IP protocols of the flows it looks at; empty (the default) for
    /// all. Hooks are not called for other flows, so a detector need not
    /// check.
    const TRANSPORTS: &'static [IpProto] = &[];

    /// Whether flows of this IP protocol are looked at.
    fn accepts(proto: IpProto) -> bool {
        Self::TRANSPORTS.is_empty() || Self::TRANSPORTS.contains(&proto)
    }

    /// True once the detector wants no more packets or facts (decided, or
    /// certainly not this protocol): the one notion of done.
    fn done(&self) -> bool;

    /// One payload packet of the flow's inspection window.
    fn on_packet(
        &mut self,
        p: &PacketView<'_>,
        facts: &FlowFacts<'_>,
        ctx: &Self::Ctx,
        out: &mut Vec<Detection>,
    ) {
        let _ = (p, facts, ctx, out);
    }

    /// The dissectors may have learnt something (a hello, a certificate,
    /// an HTTP head, a DNS answer).
    fn on_facts(&mut self, facts: &FlowFacts<'_>, ctx: &Self::Ctx, out: &mut Vec<Detection>) {
        let _ = (facts, ctx, out);
    }

    /// The flow ended (or was evicted): last look at the whole window.
    fn on_end(&mut self, facts: &FlowFacts<'_>, ctx: &Self::Ctx, out: &mut Vec<Detection>) {
        let _ = (facts, ctx, out);
    }
}

/// The usual progress of a structure detector: stopped (certainly not the
/// protocol) or reported up to some confidence. Shared so every detector
/// means the same by done: stopped, or reported as certain.
#[derive(Clone, Copy, Debug, Default)]
pub struct Decision {
    /// Certainly not this protocol (or nothing more to learn).
    pub stopped: bool,
    /// The most confident finding reported so far.
    pub reported: Option<Confidence>,
}

impl Decision {
    /// Stopped, or reported as certain: nothing can change any more.
    pub fn done(&self) -> bool {
        self.stopped || self.reported == Some(Confidence::Certain)
    }

    /// Records a finding of `conf` and says whether it is worth reporting
    /// (more confident than what was reported before).
    pub fn raise(&mut self, conf: Confidence) -> bool {
        if self.reported.is_some_and(|r| r >= conf) {
            return false;
        }
        self.reported = Some(conf);
        true
    }
}

/// What a detector's `done` reads: a plain flag, or a [`Decision`].
pub trait Progress {
    /// True once nothing can change any more.
    fn finished(&self) -> bool;
}

impl Progress for bool {
    fn finished(&self) -> bool {
        *self
    }
}

impl Progress for Decision {
    fn finished(&self) -> bool {
        self.done()
    }
}

/// The head every [`Detector`] impl repeats: its context, protocol,
/// transports (left out: all) and a `done` that reads one field (a `bool`
/// or a [`Decision`], see [`Progress`]; or `state == State::Done`).
///
/// ```ignore
/// impl Detector for Pptp {
///     detector_head! { ctx: super::VpnCtx, protocol: Pptp, transports: [TCP], done: decision }
///     fn on_packet(/* ... */) { /* ... */ }
/// }
/// ```
macro_rules! detector_head {
    (
        ctx: $ctx:ty,
        protocol: $protocol:ident,
        $( transports: [ $( $t:ident ),+ ], )?
        done: $field:ident == $finished:path $(,)?
    ) => {
        $crate::detect::detector::detector_head!(@consts $ctx, $protocol $(, [ $( $t ),+ ])?);

        /// True when this detector needs no more packets or facts.
        fn done(&self) -> bool {
            self.$field == $finished
        }
    };
    (
        ctx: $ctx:ty,
        protocol: $protocol:ident,
        $( transports: [ $( $t:ident ),+ ], )?
        done: $field:ident $(,)?
    ) => {
        $crate::detect::detector::detector_head!(@consts $ctx, $protocol $(, [ $( $t ),+ ])?);

        /// True when this detector needs no more packets or facts.
        fn done(&self) -> bool {
            $crate::detect::detector::Progress::finished(&self.$field)
        }
    };
    (@consts $ctx:ty, $protocol:ident $(, [ $( $t:ident ),+ ])?) => {
        type Ctx = $ctx;
        const PROTOCOL: $crate::detect::Protocol = $crate::detect::Protocol::$protocol;
        $(
            const TRANSPORTS: &'static [$crate::decode::IpProto] =
                &[ $( $crate::decode::IpProto::$t ),+ ];
        )?
    };
}
pub(crate) use detector_head;

/// A detector family as the engine drives it: the per-flow states of the
/// family's detectors, fed the same hooks.
pub trait Family: Default {
    /// The family's shared settings.
    type Ctx;

    /// One payload packet; findings go to `out`.
    fn on_packet(
        &mut self,
        p: &PacketView<'_>,
        facts: &FlowFacts<'_>,
        ctx: &Self::Ctx,
        out: &mut Vec<Detection>,
    );

    /// The dissectors may have learnt something; findings go to `out`.
    fn on_facts(&mut self, facts: &FlowFacts<'_>, ctx: &Self::Ctx, out: &mut Vec<Detection>);

    /// The flow ended: last look; findings go to `out`.
    fn on_end(&mut self, facts: &FlowFacts<'_>, ctx: &Self::Ctx, out: &mut Vec<Detection>);

    /// True when no detector of the family wants more packets or facts.
    fn done(&self) -> bool;
}

/// Declares a detector family from one line per detector:
///
/// ```ignore
/// family! {
///     /// Per-flow state of this family's detectors.
///     pub struct VpnDetectors: VpnCtx;
///     mod openvpn { openvpn: OpenVpn }
///     mod wireguard { wireguard: WireGuard }
///     keep = keep_finding;
/// }
/// ```
///
/// Each line declares the module (the detector's file) and one field per
/// detector type in it; the order of the lines is the order detectors are
/// asked, which is the order their findings are reported in. The generated
/// [`Family`] impl calls each detector's hooks while it is not done and
/// accepts the flow's transport; a packet no detector accepts switches the
/// family off for the flow. The optional `keep` function filters the
/// findings of each packet (`fn(&Ctx, &Detection) -> bool`).
macro_rules! family {
    (
        $(#[$meta:meta])*
        pub struct $name:ident : $ctx:ty;
        $( mod $module:ident { $( $field:ident : $det:ident ),+ $(,)? } )*
        $( keep = $keep:path; )?
    ) => {
        $( mod $module; )*

        $(#[$meta])*
        #[derive(Debug, Default)]
        pub struct $name {
            $( $( $field: $module::$det, )+ )*
            /// Set once the flow's transport rules every detector out.
            off: bool,
        }

        impl $name {
            /// What the family's detectors report, in registration order.
            #[allow(dead_code)]
            pub const PROTOCOLS: &'static [$crate::detect::Protocol] = &[
                $( $( <$module::$det as $crate::detect::detector::Detector>::PROTOCOL, )+ )*
            ];
        }

        impl $crate::detect::detector::Family for $name {
            type Ctx = $ctx;

            fn on_packet(
                &mut self,
                p: &$crate::detect::PacketView<'_>,
                facts: &$crate::detect::FlowFacts<'_>,
                ctx: &$ctx,
                out: &mut Vec<$crate::detect::Detection>,
            ) {
                use $crate::detect::detector::Detector;
                let _start = out.len();
                let mut wanted = false;
                $( $(
                    if <$module::$det>::accepts(p.proto) {
                        wanted = true;
                        if !self.$field.done() {
                            self.$field.on_packet(p, facts, ctx, out);
                        }
                    }
                )+ )*
                if !wanted {
                    self.off = true;
                }
                $(
                    let mut i = _start;
                    while i < out.len() {
                        if $keep(ctx, &out[i]) {
                            i += 1;
                        } else {
                            out.remove(i);
                        }
                    }
                )?
            }

            $crate::detect::detector::family_hook!(
                on_facts, $ctx; $( $( $module::$det => $field ),+ ),*
            );

            $crate::detect::detector::family_hook!(
                on_end, $ctx; $( $( $module::$det => $field ),+ ),*
            );

            fn done(&self) -> bool {
                use $crate::detect::detector::Detector;
                if self.off {
                    return true;
                }
                $( $(
                    if !self.$field.done() {
                        return false;
                    }
                )+ )*
                true
            }
        }
    };
}
pub(crate) use family;

/// One flow-level hook of a [`family!`] ([`Family::on_facts`] or
/// [`Family::on_end`]): the same hook of each detector that accepts the
/// flow's transport and is not done, in registration order.
macro_rules! family_hook {
    ($hook:ident, $ctx:ty; $( $det:path => $field:ident ),+) => {
        fn $hook(
            &mut self,
            facts: &$crate::detect::FlowFacts<'_>,
            ctx: &$ctx,
            out: &mut Vec<$crate::detect::Detection>,
        ) {
            use $crate::detect::detector::Detector;
            $(
                if <$det>::accepts(facts.proto) && !self.$field.done() {
                    self.$field.$hook(facts, ctx, out);
                }
            )+
        }
    };
}
pub(crate) use family_hook;
