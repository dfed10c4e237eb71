//! The Merkle tree of RFC 6962 / RFC 9162 with SHA-256, exactly: any implementation of it
//! that knows nothing about this project checks our proofs and checkpoints (C2SP
//! tlog-checkpoint, tlog-witness and tlog-tiles all assume it).
//!
//! The leaf data of entry `i` is the entry's encoding (PROTOCOL.md §2), so
//! `leaf = SHA-256(0x00 || encoding(entry))`, `node = SHA-256(0x01 || left || right)`, the empty
//! tree's root is `SHA-256("")`, and a tree of `n > 1` leaves splits at `k`, the largest power of
//! two below `n`. Entry hashes, the chain, key ids and commitments stay blake3. Proof generation
//! and verification follow RFC 9162 sections 2.1.3 and 2.1.4 step by step.
//!
//! Proof generation reads only *perfect* subtrees (a power-of-two run of leaves starting at a
//! multiple of its size) through [`PerfectSubtrees`], so a store that keeps those hashes
//! answers any proof in O(log n) reads. [`CompactTree`] appends leaves in O(log n) memory and
//! reports each perfect subtree as it completes, for such a store to keep.

use sha2::{Digest, Sha256};

use crate::entry::Entry;
use crate::Hash;

/// RFC 6962 leaf hash of any leaf data.
pub fn leaf_hash(leaf_data: &[u8]) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([0x00]);
    hasher.update(leaf_data);
    hasher.finalize().into()
}

/// The leaf hash of an entry: [`leaf_hash`] of its encoding, computed without building it.
pub fn entry_leaf_hash(entry: &Entry) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([0x00]);
    hasher.update(entry.sequence.to_be_bytes());
    hasher.update(entry.prev_hash);
    hasher.update(entry.timestamp_ms.to_be_bytes());
    hasher.update((entry.envelope.len() as u32).to_be_bytes());
    hasher.update(&entry.envelope);
    hasher.finalize().into()
}

pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([0x01]);
    hasher.update(left);
    hasher.update(right);
    hasher.finalize().into()
}

pub fn empty_root() -> Hash {
    Sha256::digest(b"").into()
}

/// The largest power of two strictly below `n` (`n >= 2`).
fn split_point(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1 << (63 - (n - 1).leading_zeros())
}

/// Hashes of perfect subtrees: `perfect(level, index)` is the root of leaves
/// `[index << level, (index + 1) << level)`; level 0 is the leaf hashes.
pub trait PerfectSubtrees {
    type Error;
    fn perfect(&self, level: u32, index: u64) -> Result<Hash, Self::Error>;
}

/// Leaf hashes held in memory, for the verifier and for tests.
impl PerfectSubtrees for [Hash] {
    type Error = std::convert::Infallible;
    fn perfect(&self, level: u32, index: u64) -> Result<Hash, Self::Error> {
        let start = (index << level) as usize;
        let end = ((index + 1) << level) as usize;
        Ok(root_of_leaves(&self[start..end]))
    }
}

/// Root of a tree over the given leaf hashes (recursive; for in-memory use).
pub fn root_of_leaves(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => empty_root(),
        1 => leaves[0],
        n => {
            let k = split_point(n as u64) as usize;
            node_hash(&root_of_leaves(&leaves[..k]), &root_of_leaves(&leaves[k..]))
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    #[error("leaf index {index} is outside a tree of {size} leaves")]
    IndexOutOfRange { index: u64, size: u64 },
    #[error("tree size {new} is smaller than {old}")]
    SizesOutOfOrder { old: u64, new: u64 },
    #[error("the proof has the wrong number of hashes")]
    WrongLength,
    #[error("the proof does not lead to the expected root")]
    RootMismatch,
    #[error("a proof hash is {0} bytes, not 32")]
    HashLength(usize),
}

/// Root of leaves `[start, end)` where the range is one the RFC recursion produces (its start
/// is a multiple of the largest power of two not above its length).
pub fn subtree_root<S: PerfectSubtrees + ?Sized>(
    src: &S,
    start: u64,
    end: u64,
) -> Result<Hash, S::Error> {
    let n = end - start;
    if n == 0 {
        return Ok(empty_root());
    }
    if n.is_power_of_two() && start.is_multiple_of(n) {
        return src.perfect(n.trailing_zeros(), start >> n.trailing_zeros());
    }
    let k = split_point(n);
    Ok(node_hash(
        &subtree_root(src, start, start + k)?,
        &subtree_root(src, start + k, end)?,
    ))
}

/// Root of the first `size` leaves.
pub fn root<S: PerfectSubtrees + ?Sized>(src: &S, size: u64) -> Result<Hash, S::Error> {
    subtree_root(src, 0, size)
}

/// RFC 9162 2.1.3.1: the audit path of leaf `index` in the tree of the first `size` leaves.
pub fn inclusion_proof<S: PerfectSubtrees + ?Sized>(
    src: &S,
    index: u64,
    size: u64,
) -> Result<Result<Vec<Hash>, ProofError>, S::Error> {
    if index >= size {
        return Ok(Err(ProofError::IndexOutOfRange { index, size }));
    }
    let mut path = Vec::new();
    // Walk down from the root, collecting siblings; the RFC lists them leaf first.
    let (mut start, mut end, mut m) = (0u64, size, index);
    while end - start > 1 {
        let k = split_point(end - start);
        if m < k {
            path.push(subtree_root(src, start + k, end)?);
            end = start + k;
        } else {
            path.push(subtree_root(src, start, start + k)?);
            start += k;
            m -= k;
        }
    }
    path.reverse();
    Ok(Ok(path))
}

/// RFC 9162 2.1.4.1: proof that the tree of `old` leaves is a prefix of the tree of `new`.
pub fn consistency_proof<S: PerfectSubtrees + ?Sized>(
    src: &S,
    old: u64,
    new: u64,
) -> Result<Result<Vec<Hash>, ProofError>, S::Error> {
    if old > new {
        return Ok(Err(ProofError::SizesOutOfOrder { old, new }));
    }
    if old == 0 || old == new {
        return Ok(Ok(Vec::new()));
    }
    let mut proof = Vec::new();
    // SUBPROOF(m, D[start:end], b), unrolled; the RFC appends after recursing, so collect
    // outermost first and reverse.
    let (mut start, mut end, mut m, mut complete) = (0u64, new, old, true);
    loop {
        let n = end - start;
        if m == n {
            if !complete {
                proof.push(subtree_root(src, start, end)?);
            }
            break;
        }
        let k = split_point(n);
        if m <= k {
            proof.push(subtree_root(src, start + k, end)?);
            end = start + k;
        } else {
            proof.push(subtree_root(src, start, start + k)?);
            start += k;
            m -= k;
            complete = false;
        }
    }
    proof.reverse();
    Ok(Ok(proof))
}

/// RFC 9162 2.1.3.2.
pub fn verify_inclusion(
    leaf: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let (mut fnode, mut snode) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if snode == 0 {
            return Err(ProofError::WrongLength);
        }
        if fnode & 1 == 1 || fnode == snode {
            r = node_hash(p, &r);
            if fnode & 1 == 0 {
                while fnode & 1 == 0 && fnode != 0 {
                    fnode >>= 1;
                    snode >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode != 0 {
        return Err(ProofError::WrongLength);
    }
    if &r != root {
        return Err(ProofError::RootMismatch);
    }
    Ok(())
}

/// RFC 9162 2.1.4.2, with the empty and equal-size cases made explicit.
pub fn verify_consistency(
    old: u64,
    new: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), ProofError> {
    if old > new {
        return Err(ProofError::SizesOutOfOrder { old, new });
    }
    // A tree of size 0 has one root, SHA-256(""), and every tree extends it with an empty proof
    // (as C2SP tlog-witness has it for an old size of 0).
    if old == 0 && old_root != &empty_root() {
        return Err(ProofError::RootMismatch);
    }
    if old == new {
        if !proof.is_empty() {
            return Err(ProofError::WrongLength);
        }
        return if old_root == new_root {
            Ok(())
        } else {
            Err(ProofError::RootMismatch)
        };
    }
    if old == 0 {
        // Every tree extends the empty tree.
        if !proof.is_empty() {
            return Err(ProofError::WrongLength);
        }
        return if old_root == &empty_root() {
            Ok(())
        } else {
            Err(ProofError::RootMismatch)
        };
    }
    if proof.is_empty() {
        return Err(ProofError::WrongLength);
    }
    let mut path: Vec<Hash> = Vec::with_capacity(proof.len() + 1);
    if old.is_power_of_two() {
        path.push(*old_root);
    }
    path.extend_from_slice(proof);
    let (mut fnode, mut snode) = (old - 1, new - 1);
    while fnode & 1 == 1 {
        fnode >>= 1;
        snode >>= 1;
    }
    let (mut fr, mut sr) = (path[0], path[0]);
    for c in &path[1..] {
        if snode == 0 {
            return Err(ProofError::WrongLength);
        }
        if fnode & 1 == 1 || fnode == snode {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            if fnode & 1 == 0 {
                while fnode & 1 == 0 && fnode != 0 {
                    fnode >>= 1;
                    snode >>= 1;
                }
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode != 0 {
        return Err(ProofError::WrongLength);
    }
    if &fr != old_root || &sr != new_root {
        return Err(ProofError::RootMismatch);
    }
    Ok(())
}

/// Parses proof hashes from the wire, refusing any that is not 32 bytes.
pub fn hashes_from_bytes(items: &[Vec<u8>]) -> Result<Vec<Hash>, ProofError> {
    items
        .iter()
        .map(|h| {
            h.as_slice()
                .try_into()
                .map_err(|_| ProofError::HashLength(h.len()))
        })
        .collect()
}

/// An append-only tree in O(log n) memory: the roots of the perfect subtrees along the right
/// edge, largest first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CompactTree {
    size: u64,
    /// `(level, hash)` of each perfect subtree on the right edge, left to right.
    edge: Vec<(u32, Hash)>,
}

impl CompactTree {
    pub fn new() -> Self {
        Self::default()
    }

    /// Rebuilds the right edge of a tree of `size` leaves from its perfect subtrees.
    pub fn from_subtrees<S: PerfectSubtrees + ?Sized>(
        src: &S,
        size: u64,
    ) -> Result<Self, S::Error> {
        let mut edge = Vec::new();
        let mut start = 0u64;
        for level in (0..64u32).rev() {
            if size & (1 << level) != 0 {
                edge.push((level, src.perfect(level, start >> level)?));
                start += 1 << level;
            }
        }
        Ok(CompactTree { size, edge })
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends a leaf hash. Calls `completed(level, index, hash)` for every perfect subtree the
    /// leaf completes, the leaf itself (level 0) first.
    pub fn append(&mut self, leaf: Hash, mut completed: impl FnMut(u32, u64, &Hash)) {
        let index = self.size;
        completed(0, index, &leaf);
        let mut carry = (0u32, leaf);
        while let Some(&(level, left)) = self.edge.last() {
            if level != carry.0 {
                break;
            }
            self.edge.pop();
            let merged = node_hash(&left, &carry.1);
            let new_level = level + 1;
            completed(new_level, index >> new_level, &merged);
            carry = (new_level, merged);
        }
        self.edge.push(carry);
        self.size += 1;
    }

    pub fn root(&self) -> Hash {
        let mut iter = self.edge.iter().rev();
        match iter.next() {
            None => empty_root(),
            Some(&(_, last)) => iter.fold(last, |acc, (_, left)| node_hash(left, &acc)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaves(n: u64) -> Vec<Hash> {
        (0..n)
            .map(|i| leaf_hash(blake3::hash(&i.to_be_bytes()).as_bytes()))
            .collect()
    }

    // A direct transcription of RFC 9162's recursive definitions, for comparison.
    fn naive_root(d: &[Hash]) -> Hash {
        root_of_leaves(d)
    }
    fn naive_path(m: usize, d: &[Hash]) -> Vec<Hash> {
        if d.len() <= 1 {
            return vec![];
        }
        let k = split_point(d.len() as u64) as usize;
        if m < k {
            let mut p = naive_path(m, &d[..k]);
            p.push(naive_root(&d[k..]));
            p
        } else {
            let mut p = naive_path(m - k, &d[k..]);
            p.push(naive_root(&d[..k]));
            p
        }
    }
    fn naive_subproof(m: usize, d: &[Hash], b: bool) -> Vec<Hash> {
        let n = d.len();
        if m == n {
            return if b { vec![] } else { vec![naive_root(d)] };
        }
        let k = split_point(n as u64) as usize;
        if m <= k {
            let mut p = naive_subproof(m, &d[..k], b);
            p.push(naive_root(&d[k..]));
            p
        } else {
            let mut p = naive_subproof(m - k, &d[k..], false);
            p.push(naive_root(&d[..k]));
            p
        }
    }

    #[test]
    fn roots_proofs_and_compact_tree_match_the_naive_reference() {
        let all = leaves(140);
        let mut compact = CompactTree::new();
        let mut perfect = std::collections::HashMap::new();
        for n in 0..=all.len() as u64 {
            let d = &all[..n as usize];
            let expected_root = naive_root(d);
            assert_eq!(root(d, n).unwrap(), expected_root, "root of {n}");
            assert_eq!(compact.root(), expected_root, "compact root of {n}");
            assert_eq!(CompactTree::from_subtrees(d, n).unwrap(), compact);
            for m in 0..n {
                let proof = inclusion_proof(d, m, n).unwrap().unwrap();
                assert_eq!(proof, naive_path(m as usize, d), "path {m} of {n}");
                verify_inclusion(&d[m as usize], m, n, &proof, &expected_root).unwrap();
            }
            for m in 1..=n {
                let proof = consistency_proof(d, m, n).unwrap().unwrap();
                if m < n {
                    assert_eq!(
                        proof,
                        naive_subproof(m as usize, d, true),
                        "consistency {m} to {n}"
                    );
                }
                verify_consistency(m, n, &naive_root(&d[..m as usize]), &expected_root, &proof)
                    .unwrap();
            }
            if (n as usize) < all.len() {
                compact.append(all[n as usize], |level, index, hash| {
                    perfect.insert((level, index), *hash);
                });
            }
        }
        // Every perfect subtree the compact tree reported is the true one.
        for ((level, index), hash) in &perfect {
            assert_eq!(*hash, all.as_slice().perfect(*level, *index).unwrap());
        }
        assert_eq!(
            perfect.len(),
            2 * all.len() - all.len().count_ones() as usize
        );
    }

    #[test]
    fn altered_inclusion_proofs_fail() {
        let all = leaves(301);
        for n in [1u64, 2, 3, 7, 8, 9, 31, 64, 100, 255, 300] {
            let d = &all[..n as usize];
            let r = naive_root(d);
            for m in (0..n).step_by(7) {
                let proof = inclusion_proof(d, m, n).unwrap().unwrap();
                let leaf = d[m as usize];
                for i in 0..proof.len() {
                    for byte in [0usize, 31] {
                        let mut bad = proof.clone();
                        bad[i][byte] ^= 1;
                        assert!(verify_inclusion(&leaf, m, n, &bad, &r).is_err());
                    }
                }
                let mut bad_leaf = leaf;
                bad_leaf[5] ^= 0x80;
                assert!(verify_inclusion(&bad_leaf, m, n, &proof, &r).is_err());
                if n > 1 {
                    assert!(verify_inclusion(&leaf, (m + 1) % n, n, &proof, &r).is_err());
                }
                // A size is only ever checked together with its own root (a checkpoint signs
                // both), so an altered size is tried against the root of that size.
                let r_bigger = naive_root(&all[..n as usize + 1]);
                assert!(verify_inclusion(&leaf, m, n + 1, &proof, &r_bigger).is_err());
                if m + 1 < n {
                    let r_smaller = naive_root(&all[..n as usize - 1]);
                    assert!(verify_inclusion(&leaf, m, n - 1, &proof, &r_smaller).is_err());
                }
                let mut longer = proof.clone();
                longer.push([0; 32]);
                assert!(verify_inclusion(&leaf, m, n, &longer, &r).is_err());
                if !proof.is_empty() {
                    assert!(verify_inclusion(&leaf, m, n, &proof[..proof.len() - 1], &r).is_err());
                }
            }
        }
    }

    #[test]
    fn altered_consistency_proofs_fail() {
        let all = leaves(201);
        for n in [2u64, 3, 5, 8, 13, 64, 65, 127, 200] {
            for m in [1u64, 2, 3, 4, 7, 8, 33, 64, 100, 199] {
                if m >= n {
                    continue;
                }
                let (old_root, new_root) = (
                    naive_root(&all[..m as usize]),
                    naive_root(&all[..n as usize]),
                );
                let proof = consistency_proof(&all[..n as usize], m, n)
                    .unwrap()
                    .unwrap();
                verify_consistency(m, n, &old_root, &new_root, &proof).unwrap();
                for i in 0..proof.len() {
                    let mut bad = proof.clone();
                    bad[i][17] ^= 4;
                    assert!(
                        verify_consistency(m, n, &old_root, &new_root, &bad).is_err(),
                        "{m} {n} {i}"
                    );
                }
                let old_plus = naive_root(&all[..m as usize + 1]);
                assert!(verify_consistency(m + 1, n, &old_plus, &new_root, &proof).is_err());
                let new_plus = naive_root(&all[..n as usize + 1]);
                assert!(verify_consistency(m, n + 1, &old_root, &new_plus, &proof).is_err());
                assert!(verify_consistency(m, n, &new_root, &old_root, &proof).is_err());
                let mut other_old = old_root;
                other_old[0] ^= 1;
                assert!(verify_consistency(m, n, &other_old, &new_root, &proof).is_err());
                assert!(verify_consistency(m, n, &old_root, &new_root, &proof[1..]).is_err());
            }
        }
        assert_eq!(
            verify_consistency(0, 5, &empty_root(), &naive_root(&all[..5]), &[]),
            Ok(())
        );
        assert!(
            verify_consistency(5, 5, &naive_root(&all[..5]), &naive_root(&all[..4]), &[]).is_err()
        );
    }

    #[test]
    fn empty_tree_root_is_the_hash_of_nothing() {
        assert_eq!(
            hex::encode(CompactTree::new().root()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            inclusion_proof(&[] as &[Hash], 0, 0).unwrap(),
            Err(ProofError::IndexOutOfRange { index: 0, size: 0 })
        );
    }
}
