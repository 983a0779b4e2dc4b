//! Signatures: G2 points in the contract's `BLSSignatureParams` word order.

use core::fmt;
use core::iter::Sum;
use core::ops::Add;

use ark_bn254::{Fq2, G2Affine, G2Projective};
use ark_ec::{AffineRepr as _, CurveGroup as _};

use crate::error::Error;
use crate::field::{fq_from_word, fq_to_word};

/// A BLS signature (or an aggregate of them): a point of G2's order-r subgroup.
///
/// Its words are the contract's `BLSSignatureParams` `sigs0..sigs3` = `x_re, x_im, y_re, y_im`
/// (the contract reorders them into the precompile's imaginary-first `G2Point`); all zeros is
/// the identity.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Signature(G2Affine);

impl Signature {
    pub(crate) fn from_point(point: G2Affine) -> Self {
        Signature(point)
    }

    pub(crate) fn point(&self) -> G2Affine {
        self.0
    }

    /// The identity (all-zero words).
    #[must_use]
    pub fn identity() -> Self {
        Signature(G2Affine::identity())
    }

    /// Whether this is the identity.
    #[must_use]
    pub fn is_identity(&self) -> bool {
        self.0.is_zero()
    }

    /// A signature from `sigs0..sigs3` = `x_re, x_im, y_re, y_im`.
    ///
    /// # Errors
    /// [`Error::CoordinateTooLarge`], [`Error::NotOnCurve`] or [`Error::NotInSubgroup`] (the
    /// pairing precompile refuses such points too).
    pub fn from_words(words: &[[u8; 32]; 4]) -> Result<Self, Error> {
        if words.iter().all(|word| word.iter().all(|&b| b == 0)) {
            return Ok(Self::identity());
        }
        let [x_re, x_im, y_re, y_im] = words;
        let x = Fq2::new(fq_from_word(x_re)?, fq_from_word(x_im)?);
        let y = Fq2::new(fq_from_word(y_re)?, fq_from_word(y_im)?);
        let point = G2Affine::new_unchecked(x, y);
        if !point.is_on_curve() {
            return Err(Error::NotOnCurve);
        }
        if !point.is_in_correct_subgroup_assuming_on_curve() {
            return Err(Error::NotInSubgroup);
        }
        Ok(Signature(point))
    }

    /// `sigs0..sigs3` = `x_re, x_im, y_re, y_im`; the identity is four zero words.
    #[must_use]
    pub fn to_words(&self) -> [[u8; 32]; 4] {
        match self.0.xy() {
            Some((x, y)) => {
                [fq_to_word(x.c0), fq_to_word(x.c1), fq_to_word(y.c0), fq_to_word(y.c1)]
            }
            None => [[0u8; 32]; 4],
        }
    }

    /// A signature from `sigs0 ‖ sigs1 ‖ sigs2 ‖ sigs3`.
    ///
    /// # Errors
    /// As [`Signature::from_words`].
    pub fn from_bytes(bytes: &[u8; 128]) -> Result<Self, Error> {
        let mut words = [[0u8; 32]; 4];
        for (word, chunk) in words.iter_mut().zip(bytes.chunks_exact(32)) {
            word.copy_from_slice(chunk);
        }
        Self::from_words(&words)
    }

    /// `sigs0 ‖ sigs1 ‖ sigs2 ‖ sigs3`.
    #[must_use]
    pub fn to_bytes(&self) -> [u8; 128] {
        let mut out = [0u8; 128];
        for (chunk, word) in out.chunks_exact_mut(32).zip(self.to_words()) {
            chunk.copy_from_slice(&word);
        }
        out
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature(0x{})", hex::encode(self.to_bytes()))
    }
}

impl Add for Signature {
    type Output = Signature;
    fn add(self, other: Signature) -> Signature {
        Signature((self.0 + other.0).into_affine())
    }
}

impl Sum for Signature {
    fn sum<I: Iterator<Item = Signature>>(iter: I) -> Signature {
        let total: G2Projective = iter.map(|s| s.0).sum();
        Signature(total.into_affine())
    }
}

impl<'a> Sum<&'a Signature> for Signature {
    fn sum<I: Iterator<Item = &'a Signature>>(iter: I) -> Signature {
        iter.copied().sum()
    }
}
