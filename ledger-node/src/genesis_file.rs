//! The genesis file `ledger-node init` reads: parsed field by field so that one run reports
//! every problem at once, each in Chinese and English with what to write instead.
//! `ledger-node init --example` prints [`EXAMPLE`], which a test parses.

use ledger_core::proto;

/// A complete, commented genesis file.
pub const EXAMPLE: &str = include_str!("genesis.example.toml");

/// What a genesis file says, checked.
#[derive(Debug)]
pub struct GenesisFile {
    pub ledger_id: String,
    pub name: String,
    pub policy: proto::Policy,
    pub admins: Vec<proto::PublicKey>,
    pub witnesses: Vec<proto::Witness>,
    pub witness_quorum: u32,
}

/// Every problem found in a genesis file.
#[derive(Debug)]
pub struct Problems(pub Vec<String>);

impl std::fmt::Display for Problems {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "创世文件有 {n} 处问题 the genesis file has {n} problem(s) \
             (`ledger-node init --example` 打印一个完整的示例 prints a complete example):",
            n = self.0.len()
        )?;
        for (i, p) in self.0.iter().enumerate() {
            writeln!(f, "  {}. {p}", i + 1)?;
        }
        Ok(())
    }
}

impl std::error::Error for Problems {}

/// The top-level settings: name, required, what it is (Chinese / English).
const FIELDS: &[(&str, bool, &str)] = &[
    ("ledger_id", true, "账本标识 the ledger's id, e.g. ledger_id = \"xingfuli.example.gov.cn/fund\""),
    ("name", true, "账本名称 the ledger's name, e.g. name = \"幸福里社区共同缔造基金\""),
    ("approval_threshold_yuan", true, "审批门槛（元）approval threshold in yuan, e.g. approval_threshold_yuan = 100000"),
    ("approval_window_days", false, "累计窗口天数 days payments are added up per payee, 1-366, e.g. 30"),
    ("approver_quorum", true, "居民代表法定人数 representatives' quorum, 1-16, e.g. approver_quorum = 2"),
    ("admin_quorum", true, "管理员法定人数 admin quorum, 1 to the number of [[admin]], e.g. admin_quorum = 1"),
    ("reserve_ratio_bp", true, "风险准备金比例（万分比）risk reserve in basis points, 0-5000, e.g. reserve_ratio_bp = 1000"),
    ("notice_days", false, "公示天数 days of public notice, 0-90, e.g. 7"),
    ("objection_response_days", false, "异议答复期限 days to answer an objection, 1-90, e.g. 10"),
    ("admin", true, "管理员 admins: [[admin]] blocks with name = \"…\" and public_key = \"<64 hex>\""),
    ("witness", false, "见证方 witnesses: [[witness]] blocks with name and public_key"),
    ("witness_quorum", false, "见证方法定人数 witnesses needed, default a majority"),
];

/// Parses and checks a genesis file, collecting every problem.
pub fn parse(text: &str) -> Result<GenesisFile, Problems> {
    let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
        Problems(vec![format!(
            "不是有效的 TOML not valid TOML: {}",
            e.to_string().trim()
        )])
    })?;
    let mut problems = Vec::new();
    for key in table.keys() {
        if !FIELDS.iter().any(|(name, _, _)| name == key) {
            problems.push(format!(
                "未知设置 unknown setting `{key}`; 可用 known: {}",
                FIELDS.iter().map(|f| f.0).collect::<Vec<_>>().join(", ")
            ));
        }
    }
    for (name, required, what) in FIELDS {
        if *required && !table.contains_key(*name) {
            problems.push(format!("缺少 missing `{name}`: {what}"));
        }
    }
    let mut read = Reader {
        table: &table,
        problems: &mut problems,
        bad: Vec::new(),
    };
    let ledger_id = read.string("ledger_id");
    let name = read.string("name");
    let threshold = read.yuan("approval_threshold_yuan");
    let policy = proto::Policy {
        approval_threshold_fen: threshold.unwrap_or(0),
        approver_quorum: read.number("approver_quorum").unwrap_or(0),
        admin_quorum: read.number("admin_quorum").unwrap_or(0),
        reserve_ratio_bp: read.number("reserve_ratio_bp").unwrap_or(0),
        approval_window_days: read.number("approval_window_days").unwrap_or(30),
        notice_days: read.number("notice_days").unwrap_or(7),
        objection_response_days: read.number("objection_response_days").unwrap_or(10),
    };
    let admins = read.keys("admin");
    let witnesses = read.keys("witness");
    let majority = witnesses.len() as u32 / 2 + u32::from(!witnesses.is_empty());
    let witness_quorum = read.number("witness_quorum").unwrap_or(majority);
    let bad = std::mem::take(&mut read.bad);
    check_policy(&table, &policy, admins.len(), &bad, &mut problems);
    if !problems.is_empty() {
        return Err(Problems(problems));
    }
    Ok(GenesisFile {
        ledger_id: ledger_id.expect("no problem: present"),
        name: name.expect("no problem: present"),
        policy,
        admins: admins
            .into_iter()
            .map(|(name, ed25519)| proto::PublicKey {
                ed25519,
                role: proto::Role::Admin as i32,
                name,
            })
            .collect(),
        witnesses: witnesses
            .into_iter()
            .map(|(name, ed25519)| proto::Witness { name, ed25519 })
            .collect(),
        witness_quorum,
    })
}

/// The policy's bounds, judged by the same list the ledger's decoder uses (only for fields the
/// file gave well-formed, so a missing or mistyped one is reported once).
fn check_policy(
    table: &toml::Table,
    policy: &proto::Policy,
    admins: usize,
    bad: &[&'static str],
    problems: &mut Vec<String>,
) {
    let policy = ledger_core::types::Policy {
        approval_threshold_fen: policy.approval_threshold_fen,
        approver_quorum: policy.approver_quorum,
        admin_quorum: policy.admin_quorum,
        reserve_ratio_bp: policy.reserve_ratio_bp,
        approval_window_days: policy.approval_window_days,
        notice_days: policy.notice_days,
        objection_response_days: policy.objection_response_days,
    };
    for problem in ledger_core::tx::policy_problems(&policy, admins) {
        let ledger_core::decode_error::DecodeError::Invalid { field, why } = &problem else {
            problems.push(problem.to_string());
            continue;
        };
        let key = match field.trim_start_matches("policy.") {
            "approval_threshold_fen" => "approval_threshold_yuan",
            other => other,
        };
        if bad.contains(&key) {
            continue;
        }
        if table.contains_key(key) || !FIELDS.iter().any(|f| f.0 == key && f.1) {
            problems.push(format!("`{key}` 超出范围 out of range: {why}"));
        }
    }
}

struct Reader<'a> {
    table: &'a toml::Table,
    problems: &'a mut Vec<String>,
    /// Settings already reported as mistyped, or (for admin_quorum) depending on one that was.
    bad: Vec<&'static str>,
}

impl Reader<'_> {
    fn string(&mut self, key: &'static str) -> Option<String> {
        match self.table.get(key)? {
            toml::Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
            other => {
                self.problems.push(format!(
                    "`{key}` 应是非空文字 must be non-empty text in quotes, not {}",
                    shown(other)
                ));
                None
            }
        }
    }

    fn number(&mut self, key: &'static str) -> Option<u32> {
        match self.table.get(key)? {
            toml::Value::Integer(n) if u32::try_from(*n).is_ok() => Some(*n as u32),
            other => {
                self.bad.push(key);
                self.problems.push(format!(
                    "`{key}` 应是非负整数 must be a whole number (no quotes), not {}",
                    shown(other)
                ));
                None
            }
        }
    }

    /// Yuan as a number (100000, 100000.5) or a string ("100,000.00"); a TOML float is read
    /// through its shortest decimal form, so no float arithmetic touches the amount.
    fn yuan(&mut self, key: &'static str) -> Option<u64> {
        let text = match self.table.get(key)? {
            toml::Value::String(s) => s.clone(),
            toml::Value::Integer(n) => n.to_string(),
            toml::Value::Float(f) => f.to_string(),
            other => {
                self.bad.push(key);
                self.problems.push(format!(
                    "`{key}` 应是金额（元）must be yuan, e.g. 100000 or \"100000.00\", not {}",
                    shown(other)
                ));
                return None;
            }
        };
        match ledger_core::amount::parse_yuan(&text) {
            Ok(fen) => Some(fen),
            Err(e) => {
                self.bad.push(key);
                self.problems.push(format!("`{key}` = {text}: {e}"));
                None
            }
        }
    }

    /// `[[admin]]` or `[[witness]]` blocks: each a name and a valid Ed25519 public key.
    fn keys(&mut self, key: &str) -> Vec<(String, Vec<u8>)> {
        let Some(value) = self.table.get(key) else {
            return Vec::new();
        };
        let Some(blocks) = value.as_array() else {
            self.problems.push(format!(
                "`{key}` 应写成 must be written as [[{key}]] blocks, each with name = \"…\" and public_key = \"<64 hex>\""
            ));
            return Vec::new();
        };
        let mut out = Vec::new();
        for (i, block) in blocks.iter().enumerate() {
            let at = format!("[[{key}]] #{}", i + 1);
            let Some(t) = block.as_table() else {
                self.problems
                    .push(format!("{at}: 应是一段设置 must be a block of settings"));
                continue;
            };
            for k in t.keys().filter(|k| *k != "name" && *k != "public_key") {
                let hint = if FIELDS.iter().any(|f| f.0 == k) {
                    "; 单项设置要写在第一个 [[…]] 段之前 a single setting belongs before the first [[…]] block"
                } else {
                    ""
                };
                self.problems.push(format!(
                    "{at}: 未知设置 unknown setting `{k}` (only name and public_key){hint}"
                ));
            }
            let name = match t.get("name") {
                Some(toml::Value::String(s)) if !s.trim().is_empty() => Some(s.clone()),
                _ => {
                    self.problems.push(format!(
                        "{at}: 缺少名称 needs name = \"…\" (text in quotes)"
                    ));
                    None
                }
            };
            let public = t.get("public_key").and_then(|v| v.as_str());
            let key_bytes = match public.map(public_key) {
                Some(Ok(bytes)) => Some(bytes),
                Some(Err(why)) => {
                    self.problems.push(format!("{at}: public_key {why}"));
                    None
                }
                None => {
                    self.problems.push(format!(
                        "{at}: 缺少公钥 needs public_key = \"<64 hex digits>\", as `ledger keygen` printed it"
                    ));
                    None
                }
            };
            match (name, key_bytes) {
                (Some(name), Some(bytes)) => out.push((name, bytes)),
                // The admin quorum is judged against the admins; one unreadable is reported.
                _ if key == "admin" => self.bad.push("admin_quorum"),
                _ => {}
            }
        }
        out
    }
}

fn public_key(text: &str) -> Result<Vec<u8>, String> {
    let bytes = hex::decode(text.trim())
        .ok()
        .filter(|b| b.len() == 32)
        .ok_or_else(|| {
            "应是 64 位十六进制 must be 64 hex digits, as `ledger keygen` printed it".to_string()
        })?;
    ledger_core::signing::parse_public_key(&bytes)
        .map_err(|e| format!("不是有效的公钥 is not a valid key: {e}"))?;
    Ok(bytes)
}

fn shown(value: &toml::Value) -> String {
    match value {
        toml::Value::String(s) => format!("the text {s:?}"),
        toml::Value::Integer(n) => format!("the number {n}"),
        toml::Value::Float(f) => format!("the number {f}"),
        toml::Value::Boolean(b) => format!("{b}"),
        toml::Value::Datetime(d) => format!("the date {d}"),
        toml::Value::Array(_) => "a list".to_string(),
        toml::Value::Table(_) => "a block".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_is_a_complete_valid_genesis_naming_every_setting() {
        let g = parse(EXAMPLE).unwrap();
        assert_eq!(g.name, "幸福里社区共同缔造基金");
        assert_eq!(g.policy.approval_threshold_fen, 10_000_000);
        assert_eq!(
            (g.admins.len(), g.witnesses.len(), g.witness_quorum),
            (2, 1, 1)
        );
        for (name, _, _) in FIELDS {
            assert!(
                EXAMPLE
                    .lines()
                    .any(|l| l.starts_with(name) || l == format!("[[{name}]]")),
                "the example does not show {name}"
            );
        }
    }

    #[test]
    fn yuan_may_be_a_number_or_a_string() {
        for (written, fen) in [
            ("100000", 10_000_000),
            ("100000.5", 10_000_050),
            ("\"100,000.25\"", 10_000_025),
        ] {
            let text = EXAMPLE.replace(
                "approval_threshold_yuan = 100000",
                &format!("approval_threshold_yuan = {written}"),
            );
            assert_eq!(parse(&text).unwrap().policy.approval_threshold_fen, fen);
        }
        let text = EXAMPLE.replace(
            "approval_threshold_yuan = 100000",
            "approval_threshold_yuan = 1000.555",
        );
        let err = parse(&text).unwrap_err().to_string();
        assert!(err.contains("approval_threshold_yuan"), "{err}");
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let text = "ledger_id = \"x.example/a\"\n\
                    approval_threshold_yuan = true\n\
                    approver_quorum = \"2\"\n\
                    admin_quorum = 3\n\
                    reserve_ratio_bp = 9000\n\
                    colour = \"red\"\n\
                    [[admin]]\n\
                    name = \"a\"\n\
                    public_key = \"a39da392811c5474884bec140ff5dede188e1552a35738b035d59678fbc61415\"\n\
                    [[witness]]\n\
                    name = \"w.example/w\"\n\
                    public_key = \"abcd\"\n";
        let problems = parse(text).unwrap_err();
        let all = problems.to_string();
        for expected in [
            "missing `name`",
            "`approval_threshold_yuan` 应是金额",
            "`approver_quorum` 应是非负整数",
            "unknown setting `colour`",
            "[[witness]] #1: public_key",
            "`reserve_ratio_bp` 超出范围",
            "`admin_quorum` 超出范围",
        ] {
            assert!(all.contains(expected), "{expected:?} not in:\n{all}");
        }
        assert_eq!(problems.0.len(), 7, "{all}");
    }

    #[test]
    fn broken_toml_says_where() {
        let err = parse("name = \"unterminated\n").unwrap_err().to_string();
        assert!(err.contains("TOML") && err.contains("line 1"), "{err}");
    }
}
