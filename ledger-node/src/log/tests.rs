use super::*;
use ledger_core::entry::GENESIS_PREV_HASH;

fn entries(n: u64) -> Vec<(Entry, Hash)> {
    let mut prev = GENESIS_PREV_HASH;
    (0..n)
        .map(|i| {
            let e = Entry {
                sequence: i,
                prev_hash: prev,
                timestamp_ms: 1000 + i as i64,
                envelope: vec![i as u8 + 1; 10 + i as usize],
            };
            prev = e.hash();
            (e, prev)
        })
        .collect()
}

/// Writes `items` in groups of the given sizes; returns each record's offset.
fn write_groups(path: &Path, items: &[(Entry, Hash)], groups: &[usize]) -> Vec<u64> {
    let mut w = create(path).unwrap();
    let mut offsets = vec![];
    let mut it = items.iter();
    for size in groups {
        let mut g = GroupRecords::default();
        for _ in 0..*size {
            let (e, h) = it.next().unwrap();
            g.push(e, h);
        }
        let mut at = w.append_durable(&mut g).unwrap();
        for s in g.sizes() {
            offsets.push(at);
            at += s;
        }
    }
    offsets
}

fn scan_all(path: &Path) -> Result<(ScanReport, Vec<u64>), LogError> {
    let mut seen = vec![];
    let report = scan(path, |s| {
        seen.push(s.entry.sequence);
        Ok(())
    })?;
    Ok((report, seen))
}

#[test]
fn records_read_back_by_scan_and_by_offset() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log");
    let items = entries(5);
    let offsets = write_groups(&path, &items, &[2, 1, 2]);
    let (report, seen) = scan_all(&path).unwrap();
    assert_eq!(seen, vec![0, 1, 2, 3, 4]);
    assert_eq!((report.entries, &report.torn), (5, &None));
    let w = LogWriter::open(&path, &report).unwrap();
    assert_eq!(
        w.reader().unwrap().read_at(offsets[3]).unwrap().0,
        items[3].0
    );
}

#[test]
fn a_log_is_never_created_over_an_existing_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log");
    write_groups(&path, &entries(1), &[1]);
    assert!(create(&path).is_err());
    assert_eq!(scan_all(&path).unwrap().0.entries, 1);
}

#[test]
fn a_write_cut_short_is_a_torn_tail_of_exactly_the_last_group() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log");
    let offsets = write_groups(&path, &entries(5), &[2, 3]);
    let full = std::fs::metadata(&path).unwrap().len();
    let last_group = offsets[2];
    // Every possible cut inside the last group: header, entry, hash, record boundaries.
    for cut_at in last_group..full {
        let copy = dir.path().join("copy");
        std::fs::copy(&path, &copy).unwrap();
        OpenOptions::new()
            .write(true)
            .open(&copy)
            .unwrap()
            .set_len(cut_at)
            .unwrap();
        let (report, seen) = scan_all(&copy).unwrap();
        assert_eq!(seen, vec![0, 1], "cut at {cut_at}");
        if cut_at == last_group {
            assert_eq!(report.torn, None);
        } else {
            let torn = report.torn.clone().expect("torn");
            assert_eq!((torn.from, torn.bytes), (last_group, cut_at - last_group));
        }
        LogWriter::open(&copy, &report).unwrap();
        assert_eq!(std::fs::metadata(&copy).unwrap().len(), last_group);
        assert_eq!(
            scan_all(&copy).unwrap().0.torn,
            None,
            "the cut is persistent"
        );
    }
}

#[test]
fn zeros_where_the_last_group_should_be_are_a_torn_tail() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log");
    let offsets = write_groups(&path, &entries(4), &[1, 3]);
    let full = std::fs::metadata(&path).unwrap().len();
    // The file grew but the group's blocks were never written: zeros from the group's start,
    // or from any point after a whole record's header onwards that covers its hash.
    for zero_from in [
        offsets[1],
        offsets[2],
        offsets[3],
        offsets[3] + 20,
        full - 32,
    ] {
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[zero_from as usize..].fill(0);
        let copy = dir.path().join("copy");
        std::fs::write(&copy, &bytes).unwrap();
        let (report, seen) = scan_all(&copy).unwrap();
        assert_eq!(seen, vec![0], "zeros from {zero_from}");
        assert_eq!(report.torn.unwrap().from, offsets[1]);
    }
    // Zeros appended after the last whole group.
    let mut f = OpenOptions::new().append(true).open(&path).unwrap();
    std::io::Write::write_all(&mut f, &[0u8; 4096]).unwrap();
    let (report, seen) = scan_all(&path).unwrap();
    assert_eq!((seen.len(), report.torn.unwrap().bytes), (4, 4096));
}

#[test]
fn zeros_in_the_middle_of_the_log_are_corruption() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log");
    let offsets = write_groups(&path, &entries(4), &[1, 1, 1, 1]);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[offsets[1] as usize..offsets[2] as usize].fill(0);
    std::fs::write(&path, &bytes).unwrap();
    assert!(matches!(
        scan_all(&path),
        Err(LogError::Corrupt { sequence: 1, .. })
    ));
}

/// Every single-bit flip anywhere in a small log: the scan either refuses (naming the damaged
/// entry) or, never, cuts anything. No flip can look like a write cut short.
#[test]
fn every_bit_flip_is_refused_and_nothing_is_cut() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log");
    let offsets = write_groups(&path, &entries(5), &[1, 2, 2]);
    let original = std::fs::read(&path).unwrap();
    let entry_at = |byte: usize| offsets.iter().rposition(|o| *o as usize <= byte).unwrap() as u64;
    for byte in 0..original.len() {
        for bit in 0..8 {
            let mut bytes = original.clone();
            bytes[byte] ^= 1 << bit;
            std::fs::write(&path, &bytes).unwrap();
            match scan_all(&path) {
                Err(LogError::Corrupt {
                    sequence, offset, ..
                }) => {
                    assert_eq!(sequence, entry_at(byte), "byte {byte} bit {bit}");
                    assert_eq!(offset, offsets[sequence as usize]);
                }
                Err(other) => panic!("byte {byte} bit {bit}: {other}"),
                Ok((report, _)) => panic!(
                    "byte {byte} bit {bit}: accepted ({} entries, torn {:?})",
                    report.entries, report.torn
                ),
            }
            assert_eq!(
                std::fs::read(&path).unwrap(),
                bytes,
                "the scan never writes"
            );
        }
    }
}

#[test]
fn a_whole_record_after_damage_is_corruption_even_at_the_end() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log");
    let offsets = write_groups(&path, &entries(3), &[1, 2]);
    let mut bytes = std::fs::read(&path).unwrap();
    // The last group's first record cut to a valid header and zeros, its second record whole.
    bytes[offsets[1] as usize + FRAME_HEADER_BYTES..offsets[2] as usize].fill(0);
    std::fs::write(&path, &bytes).unwrap();
    match scan_all(&path) {
        Err(LogError::Corrupt {
            sequence: 1, what, ..
        }) => {
            assert!(
                what.contains("not a write cut short") || what.contains("whole record"),
                "{what}"
            )
        }
        other => panic!(
            "expected corruption at entry 1, got {:?}",
            other.map(|r| r.0.torn)
        ),
    }
}

#[test]
fn a_failed_group_leaves_the_file_where_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log");
    write_groups(&path, &entries(2), &[2]);
    let (report, _) = scan_all(&path).unwrap();
    let mut w = LogWriter::open(&path, &report).unwrap();
    let before = w.len();
    // Make the write fail: a reader-only handle stands in for a failing disk.
    w.file = File::open(&path).unwrap();
    let items = entries(3);
    let mut g = GroupRecords::default();
    g.push(&items[2].0, &items[2].1);
    assert!(w.append_durable(&mut g).is_err());
    assert!(
        w.poisoned,
        "set_len on a read-only handle fails: the writer must remember"
    );
    assert_eq!(w.len(), before);
    let mut g = GroupRecords::default();
    g.push(&items[2].0, &items[2].1);
    assert!(matches!(
        w.append_durable(&mut g),
        Err(LogError::Poisoned { .. })
    ));
    // The disk is back: the next group lands right after the last durable one.
    w.file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(&path)
        .unwrap();
    let mut g = GroupRecords::default();
    g.push(&items[2].0, &items[2].1);
    assert_eq!(w.append_durable(&mut g).unwrap(), before);
    assert_eq!(scan_all(&path).unwrap().1, vec![0, 1, 2]);
}
