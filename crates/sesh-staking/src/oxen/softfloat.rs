//! The two places where oxend used `double`: the pre-HF13 staking requirement curve and the
//! operator-fee percentage parser. Both are reproduced bit for bit with IEEE-754 arithmetic done
//! in integers (`rustc_apfloat`, the soft float rustc itself uses), so no hardware float is ever
//! involved and the results cannot depend on the platform.

use rustc_apfloat::ieee::Double;
use rustc_apfloat::{Float, Round};

use super::exp_table::EXP_TABLE;

fn bits(b: u64) -> Double {
    Double::from_bits(u128::from(b))
}

fn int(n: u64) -> Double {
    Double::from_u128(u128::from(n)).value
}

fn add(a: Double, b: Double) -> Double {
    (a + b).value
}

fn sub(a: Double, b: Double) -> Double {
    (a - b).value
}

fn mul(a: Double, b: Double) -> Double {
    (a * b).value
}

fn div(a: Double, b: Double) -> Double {
    (a / b).value
}

fn half() -> Double {
    div(int(1), int(2))
}

/// oxend's `oxen::round` (gnulib): to nearest, ties away from zero, step by step as written.
fn round(x: Double) -> Double {
    let two_mant_dig = int(1 << 52);
    let zero = Double::ZERO;
    let mut z = x;
    if z > zero {
        if z < half() {
            z = zero;
        } else if z < two_mant_dig {
            z = add(z, half());
            let y = z;
            z = add(z, two_mant_dig);
            z = sub(z, two_mant_dig);
            if z > y {
                z = sub(z, int(1));
            }
        }
    } else if z < zero {
        if z > -half() {
            z = -Double::ZERO;
        } else if z > -two_mant_dig {
            z = sub(z, half());
            let y = z;
            z = sub(z, two_mant_dig);
            z = add(z, two_mant_dig);
            if z < y {
                z = add(z, int(1));
            }
        }
    }
    z
}

/// oxend's `oxen::exp2` for the arguments the staking curve gives it (`0 ≤ x < 3`): `2^n ·
/// 2^(m/256) · exp(y)`, with `exp(y)` from the `tanh` series truncated after `z^5`.
fn exp2(x: Double) -> Option<Double> {
    // ln(2)/256 and the tanh coefficients −1/3 and 2/15, as the nearest doubles.
    let log2_by_256 = bits(0x3f66_2e42_fefa_39ef);
    let tanh_3 = bits(0xbfd5_5555_5555_5555);
    let tanh_5 = bits(0x3fc1_1111_1111_1111);

    let x256 = mul(x, int(256));
    let nm = round(x256);
    let z = mul(sub(x256, nm), mul(log2_by_256, half()));
    let z2 = mul(z, z);
    let tanh_z = mul(add(mul(add(mul(tanh_5, z2), tanh_3), z2), int(1)), z);
    let exp_y = div(add(int(1), tanh_z), sub(int(1), tanh_z));

    let n = round(mul(nm, div(int(1), int(256)))).to_i128(32).value;
    let m = nm.to_i128(32).value - 256 * n;
    let entry = EXP_TABLE.get(usize::try_from(128 + m).ok()?)?;
    let mut result = mul(bits(*entry), exp_y);
    for _ in 0..n {
        result = mul(result, int(2));
    }
    Some(result)
}

/// The HF9–HF12 mainnet staking requirement: `base + ⌊coeff / 2^((h − 101250)/129600)⌋`, in
/// oxend's double arithmetic (round to nearest, its own `exp2`), truncated to an integer.
pub(super) fn curve_requirement(height_adjusted: u64, base: u64, coeff_coins: u64) -> Option<u64> {
    const COIN: u64 = 1_000_000_000;
    let exponent = div(int(height_adjusted), int(129_600));
    let variable = div(mul(int(coeff_coins), int(COIN)), exp2(exponent)?);
    let mut exact = false;
    let variable = variable.to_u128_r(64, Round::TowardZero, &mut exact).value;
    base.checked_add(u64::try_from(variable).ok()?)
}

/// A fee percentage as oxend parses it: an IEEE double.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct Percent(Double);

/// Why a fee string is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum PercentError {
    /// Not a number in `boost::lexical_cast<double>`'s grammar.
    Syntax,
    /// NaN (oxend accepts it: its range check is two comparisons that NaN fails both of).
    NotANumber,
    /// Below 0 or above 100.
    OutOfRange,
}

/// Checks the decimal grammar `lexical_cast<double>` accepts: optional sign, digits with at most
/// one point (at least one digit), optional exponent; or `nan` / `inf` / `infinity`.
fn syntax(text: &str) -> Result<Option<Double>, PercentError> {
    let unsigned = text.strip_prefix(['+', '-']).unwrap_or(text);
    let negative = text.starts_with('-');
    let lower = unsigned.to_ascii_lowercase();
    if lower == "nan" || (lower.starts_with("nan(") && lower.ends_with(')')) {
        return Err(PercentError::NotANumber);
    }
    if lower == "inf" || lower == "infinity" {
        let inf = Double::INFINITY;
        return Ok(Some(if negative { -inf } else { inf }));
    }
    let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
        Some(at) => (unsigned.get(..at).unwrap_or(""), Some(unsigned.get(at + 1..).unwrap_or(""))),
        None => (unsigned, None),
    };
    let digits = mantissa.bytes().filter(u8::is_ascii_digit).count();
    let points = mantissa.bytes().filter(|b| *b == b'.').count();
    if digits == 0 || points > 1 || digits + points != mantissa.len() {
        return Err(PercentError::Syntax);
    }
    if let Some(exponent) = exponent {
        let exponent = exponent.strip_prefix(['+', '-']).unwrap_or(exponent);
        if exponent.is_empty() || !exponent.bytes().all(|b| b.is_ascii_digit()) {
            return Err(PercentError::Syntax);
        }
    }
    Ok(None)
}

/// oxend's `parse_fee_percent`: an optional trailing `%`, then a double in `0..=100`; except
/// that NaN, which oxend lets through, is refused.
pub(super) fn parse_percent(text: &str) -> Result<Percent, PercentError> {
    let text = text.strip_suffix('%').unwrap_or(text);
    let value = match syntax(text)? {
        Some(special) => special,
        None => {
            // The grammar is checked; keep a leading '+' out of the soft-float parser.
            let plain = text.strip_prefix('+').unwrap_or(text);
            Double::from_str_r(plain, Round::NearestTiesToEven)
                .map_err(|_| PercentError::Syntax)?
                .value
        }
    };
    if value < Double::ZERO || value > int(100) {
        return Err(PercentError::OutOfRange);
    }
    Ok(Percent(value))
}

impl Percent {
    /// The double's bit pattern.
    pub(super) fn to_bits(self) -> u64 {
        // A double's bits fit in 64.
        u64::try_from(self.0.to_bits()).unwrap_or(u64::MAX)
    }

    /// oxend's `percent_to_basis_points`: `lround(percent / 100 · 10000)`, and exactly 10000 for
    /// 100.
    pub(super) fn basis_points(self) -> u16 {
        if self.0 == int(100) {
            return 10_000;
        }
        let scaled = mul(div(self.0, int(100)), int(10_000));
        let mut exact = false;
        let rounded = scaled
            .round_to_integral(Round::NearestTiesToAway)
            .value
            .to_u128_r(16, Round::TowardZero, &mut exact)
            .value;
        u16::try_from(rounded).unwrap_or(10_000)
    }
}
