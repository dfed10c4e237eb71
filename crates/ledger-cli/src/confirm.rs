//! A second look before a large amount is signed: a typo of three zeros is the clerk's most
//! likely costly mistake, and a signed, posted entry can only be reversed, never removed.

use std::io::{BufRead, IsTerminal, Write};

use ledger_core::amount::format_yuan;
use ledger_core::tx::{Kind, Transaction};

/// The default confirmation line: 1,000,000 yuan.
pub const DEFAULT_CONFIRM_ABOVE_FEN: u64 = 100_000_000;

/// The money a transaction moves (0 for kinds that move none, budgets included).
fn amount_of(tx: &Transaction) -> u64 {
    match &tx.kind {
        Kind::FundsReceived { amount, .. } => *amount,
        Kind::FundsAllocated { amounts, .. } | Kind::DisbursementProposed { amounts, .. } => {
            amounts.checked_total().unwrap_or(u64::MAX)
        }
        _ => 0,
    }
}

/// Asks before posting an amount above `above_fen`: at a terminal the clerk types the amount's
/// yuan figure again; elsewhere (a script) `--yes` must say it was meant.
pub fn large_amount(tx: &Transaction, above_fen: u64, yes: bool) -> anyhow::Result<()> {
    let amount = amount_of(tx);
    if amount <= above_fen || yes {
        return Ok(());
    }
    let shown = format_yuan(amount);
    if !std::io::stdin().is_terminal() {
        anyhow::bail!(
            "金额 ¥{shown} 超过确认线 ¥{line}：确认无误请加 --yes（确认线用 --confirm-above 或 LEDGER_CONFIRM_ABOVE 设定）。\n\
             the amount ¥{shown} is above the confirmation line ¥{line}: add --yes if it is meant \
             (set the line with --confirm-above or LEDGER_CONFIRM_ABOVE)",
            line = format_yuan(above_fen)
        );
    }
    eprint!(
        "金额 ¥{shown} 超过确认线 ¥{line}。请再输入一遍金额（元）以确认，直接回车取消：\n\
         the amount ¥{shown} is above the confirmation line ¥{line}. Type the amount in yuan again \
         to confirm, or press Enter to cancel: ",
        line = format_yuan(above_fen)
    );
    std::io::stderr().flush()?;
    let mut typed = String::new();
    std::io::stdin().lock().read_line(&mut typed)?;
    match ledger_core::amount::parse_yuan(typed.trim()) {
        Ok(fen) if fen == amount => Ok(()),
        _ => anyhow::bail!("未确认，什么也没有提交 / not confirmed: nothing was posted"),
    }
}
