//! Which worlds' change stands out from the others'.
//!
//! The rule, per measure (the fraction of rows added, removed or changed; the summed change
//! of each numeric column): a world stands out when its value is farther from the median of
//! all worlds than both
//! - 3.5 scaled median absolute deviations (the modified z-score rule of Iglewicz and
//!   Hoaglin: `3.5 * 1.4826 * MAD`), and
//! - three times the median's own size (a world must have changed more than four times as
//!   much as the typical world, or the other way, so that ordinary differences between
//!   busier and quieter worlds never stand out, however alike the other worlds are).
//!
//! With fewer than 3 worlds nothing stands out: there is no "the others".

/// The median of the values (the mean of the middle two for an even count).
pub fn median(values: &[f64]) -> f64 {
    let mut v: Vec<f64> = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n == 0 {
        0.0
    } else if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// For each value, whether it stands out from the others (see the module's rule).
pub fn outliers(values: &[f64]) -> Vec<bool> {
    if values.len() < 3 {
        return vec![false; values.len()];
    }
    let med = median(values);
    let deviations: Vec<f64> = values.iter().map(|x| (x - med).abs()).collect();
    let mad = median(&deviations);
    let threshold = (3.5 * 1.4826 * mad).max(3.0 * med.abs());
    deviations.iter().map(|d| *d > threshold).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_world_far_from_the_others_stands_out() {
        // Summed score change: two worlds played as usual, one multiplied scores.
        assert_eq!(outliers(&[512.0, 640.0, 98_000.0]), [false, false, true]);
        assert_eq!(outliers(&[512.0, -15_000.0, 640.0]), [false, true, false]);
        // Changed fraction: 3% and 4% as usual, 20% in one world.
        assert_eq!(outliers(&[0.03, 0.04, 0.20]), [false, false, true]);
        // One world changed while the others did not.
        assert_eq!(
            outliers(&[0.0, 0.0, 0.02, 0.0]),
            [false, false, true, false]
        );
    }

    #[test]
    fn similar_worlds_do_not_stand_out() {
        assert_eq!(outliers(&[0.10, 0.10, 0.12]), [false, false, false]);
        assert_eq!(outliers(&[500.0, 600.0, 2000.0]), [false, false, false]);
        assert_eq!(outliers(&[0.0, 0.0, 0.0]), [false, false, false]);
        // Two worlds: no "others" to stand out from.
        assert_eq!(outliers(&[1.0, 1_000_000.0]), [false, false]);
    }

    #[test]
    fn medians() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert_eq!(median(&[]), 0.0);
    }
}
