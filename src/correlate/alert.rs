//! [`HostAlert`]: the EVE `alert` object a host's score produces, and the
//! rate limit in the spirit of Suricata's `threshold.config` (`type: limit,
//! track: by_src, count 1, seconds alert_interval_s`, with a bypass when the
//! score rose by `alert_step`).

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::Serialize;

use super::config::CorrelateConfig;
use super::host::HostState;
use super::rules::{RuleHit, leader, total};
use super::time::{US_PER_S, format_eve_time};

/// Suricata's `alert` object for a host alert: signature id 8,700,000 +
/// the leading rule's number (docs/host.md), `GATEWARD HOST <leading
/// rule>`, the most severe severity of the contributing rules, and
/// `gateward_rule` / `attack_id` string arrays as metadata.
pub type HostAlertInfo = crate::detect::signature::Alert<BTreeMap<&'static str, Vec<String>>>;

/// The host a host alert is about.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HostAlertHost {
    /// The internal host.
    pub ip: IpAddr,
    /// Its score now.
    pub score: u32,
    /// Its score at its previous host alert, if any.
    pub previous_alert_score: Option<u32>,
    /// Every contributing rule, in signature-id order.
    pub rules: Vec<RuleHit>,
}

/// One EVE `alert` line about an internal host.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HostAlert {
    /// Capture time of the observation that raised it.
    pub timestamp: String,
    /// `alert`.
    pub event_type: &'static str,
    /// The host.
    pub src_ip: IpAddr,
    /// Suricata's alert object.
    pub alert: HostAlertInfo,
    /// The host, its score and the rules, as `host_risk`: Suricata's
    /// `host` is the sensor's name, a string SIEM mappings expect.
    #[serde(rename = "host_risk")]
    pub host: HostAlertHost,
    /// Capture time in µs (not serialised; for ordering and tests).
    #[serde(skip)]
    pub time_us: u64,
}

impl HostAlert {
    /// Appends the alert as one JSON line (with `\n`). On the (impossible
    /// for these types) serialisation error nothing is appended.
    pub fn to_json_line(&self, out: &mut Vec<u8>) {
        let len = out.len();
        if crate::output::json::write(&mut *out, self).is_ok() {
            out.push(b'\n');
        } else {
            out.truncate(len);
        }
    }
}

/// Outcome of one alert decision.
#[derive(Clone, Debug, PartialEq)]
pub enum Decision {
    /// Nothing due.
    None,
    /// Due but within `alert_interval_s` of the last alert of the same
    /// signature: held back.
    HeldBack,
    /// Write it.
    Alert(Box<HostAlert>),
}

/// Stores the new evaluation in `host` and decides whether it makes an
/// alert at `now_us`. `hits` may be a scores-only evaluation
/// ([`crate::correlate::rules::Detail::ScoresOnly`]); when an alert is
/// due, `full` gives the same hits with their reasons and evidence.
pub fn decide(
    cfg: &CorrelateConfig,
    host: &mut HostState,
    hits: Vec<RuleHit>,
    now_us: u64,
    full: impl FnOnce(&HostState) -> Vec<RuleHit>,
) -> Decision {
    let score = total(&hits);
    let previous = host.score;
    host.score = score;
    host.hits = hits;
    if score < cfg.alert_threshold {
        return Decision::None;
    }
    let Some(lead) = leader(&host.hits) else {
        return Decision::None;
    };
    let crossed = previous < cfg.alert_threshold;
    let risen = host
        .alerted_score
        .is_some_and(|a| score >= a.saturating_add(cfg.alert_step));
    if !crossed && !risen {
        return Decision::None;
    }
    let sid = lead.signature_id;
    let interval = cfg.alert_interval_s.saturating_mul(US_PER_S);
    if !risen
        && let Some(last) = host.last_alert_us.get(&sid)
        && now_us.saturating_sub(*last) < interval
    {
        return Decision::HeldBack;
    }
    host.hits = full(host);
    debug_assert_eq!(total(&host.hits), score);
    let Some(lead) = leader(&host.hits) else {
        return Decision::None;
    };
    // Constant per signature id, as SIEM rules expect; the other rules are
    // in `metadata.gateward_rule` and `host.rules`.
    let signature = format!("GATEWARD HOST {}", lead.name.name());
    let mut metadata: BTreeMap<&'static str, Vec<String>> = BTreeMap::new();
    metadata.insert(
        "gateward_rule",
        host.hits.iter().map(|h| h.name.name().to_owned()).collect(),
    );
    let mut attack: Vec<String> = host
        .hits
        .iter()
        .flat_map(|h| h.attack.iter().map(|a| (*a).to_owned()))
        .collect();
    attack.sort();
    attack.dedup();
    metadata.insert("attack_id", attack);
    let alert = HostAlert {
        timestamp: format_eve_time(now_us),
        event_type: "alert",
        src_ip: host.ip,
        alert: HostAlertInfo {
            action: "allowed",
            gid: 1,
            signature_id: sid,
            rev: 1,
            signature,
            category: lead.name.category(),
            severity: host
                .hits
                .iter()
                .map(|h| h.name.severity())
                .min()
                .unwrap_or(3),
            metadata,
        },
        host: HostAlertHost {
            ip: host.ip,
            score,
            previous_alert_score: host.alerted_score,
            rules: host.hits.clone(),
        },
        time_us: now_us,
    };
    host.alerted_score = Some(score);
    host.last_alert_us.insert(sid, now_us);
    host.alerts += 1;
    Decision::Alert(Box::new(alert))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::correlate::rules::Rule;

    /// `decide` where the full evaluation equals the given one.
    fn decide_same(
        cfg: &CorrelateConfig,
        h: &mut HostState,
        hits: Vec<RuleHit>,
        now_us: u64,
    ) -> Decision {
        let same = hits.clone();
        decide(cfg, h, hits, now_us, move |_| same)
    }

    fn hit(rule: Rule, score: u32) -> RuleHit {
        RuleHit {
            name: rule,
            signature_id: rule.signature_id(),
            score,
            attack: rule.attack().to_vec(),
            reason: "r".into(),
            flow_ids: vec![1],
            community_ids: vec![],
            context: rule.context_only(),
        }
    }

    #[test]
    fn crosses_then_holds_back_then_rises() {
        let cfg = CorrelateConfig::default();
        let mut h = HostState::new("10.0.0.1".parse().expect("ip"), 0);
        assert_eq!(
            decide_same(&cfg, &mut h, vec![hit(Rule::InboundRemoteControl, 30)], 0),
            Decision::None
        );
        let d = decide_same(
            &cfg,
            &mut h,
            vec![
                hit(Rule::InboundRemoteControl, 30),
                hit(Rule::AnonymiserEgress, 30),
            ],
            1,
        );
        let Decision::Alert(a) = d else {
            panic!("alert expected: {d:?}")
        };
        assert_eq!(a.alert.signature, "GATEWARD HOST inbound_remote_control");
        assert_eq!(a.alert.signature_id, 8_700_001);
        assert_eq!(a.host.score, 60);
        let mut line = Vec::new();
        a.to_json_line(&mut line);
        let v: serde_json::Value = serde_json::from_slice(&line).expect("json");
        assert_eq!(v["event_type"], "alert");
        assert_eq!(v["src_ip"], "10.0.0.1");
        assert_eq!(v["timestamp"], "1970-01-01T00:00:00.000001+0000");
        assert_eq!(v["host_risk"]["rules"][0]["name"], "inbound_remote_control");
        assert_eq!(v["host_risk"]["rules"][0]["attack"][0], "T1219");
        assert!(line.ends_with(b"\n"));
        // Drop below and cross again within the interval: held back.
        assert_eq!(
            decide_same(&cfg, &mut h, vec![hit(Rule::InboundRemoteControl, 30)], 2),
            Decision::None
        );
        assert_eq!(
            decide_same(
                &cfg,
                &mut h,
                vec![
                    hit(Rule::InboundRemoteControl, 30),
                    hit(Rule::AnonymiserEgress, 30)
                ],
                3
            ),
            Decision::HeldBack
        );
        // A rise by the step goes through at once.
        let d = decide_same(
            &cfg,
            &mut h,
            vec![
                hit(Rule::InboundRemoteControl, 50),
                hit(Rule::SanctionedContact, 40),
            ],
            4,
        );
        assert!(matches!(d, Decision::Alert(_)));
        // After the interval a new crossing alerts again.
        assert_eq!(decide_same(&cfg, &mut h, vec![], 5), Decision::None);
        let later = 5 + cfg.alert_interval_s * US_PER_S;
        assert!(matches!(
            decide_same(
                &cfg,
                &mut h,
                vec![hit(Rule::InboundRemoteControl, 60)],
                later
            ),
            Decision::Alert(_)
        ));
    }
}
