//! What every secret byte-array newtype implements.

/// For newtypes over a byte array (`struct T([u8; N])`): `LENGTH`, `from_bytes`, `generate`
/// and `as_bytes`, `ConstantTimeEq`, a constant-time `PartialEq`/`Eq`, and a `Debug` that
/// prints nothing of the secret.
macro_rules! secret_bytes {
    ($($ty:ident: $n:literal),* $(,)?) => {$(
        impl $ty {
            /// The length in bytes.
            pub const LENGTH: usize = $n;

            /// Wraps secret bytes.
            pub const fn from_bytes(bytes: [u8; $n]) -> Self {
                Self(bytes)
            }

            /// Fresh random bytes from `rng`.
            pub fn generate<R: rand_core::RngCore + rand_core::CryptoRng>(rng: &mut R) -> Self {
                let mut bytes = [0u8; $n];
                rng.fill_bytes(&mut bytes);
                Self(bytes)
            }

            /// The secret bytes. Handle them as a secret: do not log them or store them
            /// unencrypted.
            pub const fn as_bytes(&self) -> &[u8; $n] {
                &self.0
            }
        }

        impl subtle::ConstantTimeEq for $ty {
            fn ct_eq(&self, other: &Self) -> subtle::Choice {
                subtle::ConstantTimeEq::ct_eq(self.0.as_slice(), other.0.as_slice())
            }
        }

        impl PartialEq for $ty {
            /// Compares in constant time.
            fn eq(&self, other: &Self) -> bool {
                subtle::ConstantTimeEq::ct_eq(self, other).into()
            }
        }

        impl Eq for $ty {}

        impl core::fmt::Debug for $ty {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str(concat!(stringify!($ty), "(<secret>)"))
            }
        }
    )*};
}

pub(crate) use secret_bytes;
