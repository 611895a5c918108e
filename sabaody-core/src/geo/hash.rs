//! Geohash arithmetic, computed the way Redis 7.0 computes it so that scores, decoded
//! coordinates and distances agree with redis-server to the last printed digit.
//!
//! A position is stored as a 52-bit score: longitude and latitude are each scaled to a 26-bit
//! fixed-point offset in their range (longitude −180..180, latitude −85.05112878..85.05112878,
//! the Web Mercator limits), and the two offsets are interleaved, latitude in the even bits and
//! longitude in the odd ones. A cell of `step` bits per axis covers every score that shares its
//! top `2 * step` bits, so a cell is one contiguous score interval of the sorted set.
//!
//! Every operation is plain IEEE double arithmetic in the order Redis's C code performs it
//! (no fused multiply-add), and the trigonometry goes through the platform's libm, as Redis's
//! does: on the same machine the results are bit-identical.

/// Smallest longitude.
pub const LON_MIN: f64 = -180.0;
/// Largest longitude.
pub const LON_MAX: f64 = 180.0;
/// Smallest latitude (Web Mercator limit).
pub const LAT_MIN: f64 = -85.05112878;
/// Largest latitude (Web Mercator limit).
pub const LAT_MAX: f64 = 85.05112878;
/// Bits per axis of a stored score.
pub(crate) const STEP_MAX: u8 = 26;
/// The Earth radius Redis uses for every distance, in meters.
pub const EARTH_RADIUS_M: f64 = 6372797.560856;
/// Half the Earth's circumference in Web Mercator meters (step estimation).
const MERCATOR_MAX: f64 = 20037726.37;
/// Degrees to radians, as `M_PI / 180.0` rounds.
const D_R: f64 = std::f64::consts::PI / 180.0;

fn deg_rad(a: f64) -> f64 {
    a * D_R
}

fn rad_deg(a: f64) -> f64 {
    a / D_R
}

/// A coordinate range.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Range {
    pub(crate) min: f64,
    pub(crate) max: f64,
}

/// The ranges of stored scores.
pub(crate) const LON_RANGE: Range = Range {
    min: LON_MIN,
    max: LON_MAX,
};
pub(crate) const LAT_RANGE: Range = Range {
    min: LAT_MIN,
    max: LAT_MAX,
};
/// The standard geohash latitude range (GEOHASH's strings).
const LAT_RANGE_STD: Range = Range {
    min: -90.0,
    max: 90.0,
};

/// A cell: the top `2 * step` bits of a score.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cell {
    pub(crate) bits: u64,
    pub(crate) step: u8,
}

/// A cell's extent in degrees.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Area {
    pub(crate) lon: Range,
    pub(crate) lat: Range,
}

/// Spreads the low 32 bits of `v` to the even bit positions.
fn spread(v: u32) -> u64 {
    let mut x = u64::from(v);
    x = (x | (x << 16)) & 0x0000_FFFF_0000_FFFF;
    x = (x | (x << 8)) & 0x00FF_00FF_00FF_00FF;
    x = (x | (x << 4)) & 0x0F0F_0F0F_0F0F_0F0F;
    x = (x | (x << 2)) & 0x3333_3333_3333_3333;
    (x | (x << 1)) & 0x5555_5555_5555_5555
}

/// Gathers the even bit positions of `v` into 32 bits.
fn gather(v: u64) -> u32 {
    let mut x = v & 0x5555_5555_5555_5555;
    x = (x | (x >> 1)) & 0x3333_3333_3333_3333;
    x = (x | (x >> 2)) & 0x0F0F_0F0F_0F0F_0F0F;
    x = (x | (x >> 4)) & 0x00FF_00FF_00FF_00FF;
    x = (x | (x >> 8)) & 0x0000_FFFF_0000_FFFF;
    x = (x | (x >> 16)) & 0x0000_0000_FFFF_FFFF;
    x as u32
}

/// Latitude offset in the even bits, longitude offset in the odd bits.
fn interleave(lat: u32, lon: u32) -> u64 {
    spread(lat) | (spread(lon) << 1)
}

/// `(lat offset, lon offset)`.
fn deinterleave(bits: u64) -> (u32, u32) {
    (gather(bits), gather(bits >> 1))
}

/// Whether a longitude/latitude pair may be stored.
pub(crate) fn valid(lon: f64, lat: f64) -> bool {
    (LON_MIN..=LON_MAX).contains(&lon) && (LAT_MIN..=LAT_MAX).contains(&lat)
}

/// Encodes a position at `step` bits per axis within the given ranges; `None` outside the
/// storable limits or the ranges (or for a step outside 1..=32).
pub(crate) fn encode(lon: Range, lat: Range, x: f64, y: f64, step: u8) -> Option<Cell> {
    if step == 0 || step > 32 || !valid(x, y) {
        return None;
    }
    if y < lat.min || y > lat.max || x < lon.min || x > lon.max {
        return None;
    }
    let scale = (1u64 << step) as f64;
    let lat_off = (y - lat.min) / (lat.max - lat.min) * scale;
    let lon_off = (x - lon.min) / (lon.max - lon.min) * scale;
    // The offsets lie in [0, 2^step]: the conversion truncates as C's does.
    Some(Cell {
        bits: interleave(lat_off as u32, lon_off as u32),
        step,
    })
}

/// The score Redis stores for a valid position: the 26-bit-per-axis cell, left-aligned to 52
/// bits. (At exactly the largest longitude or latitude the offset is 2^26 and spills into bit
/// 52 or 53, as it does in Redis.)
pub(crate) fn score_of(lon: f64, lat: f64) -> Option<u64> {
    encode(LON_RANGE, LAT_RANGE, lon, lat, STEP_MAX).map(align52)
}

/// Shifts a cell's bits to the top of a 52-bit score.
pub(crate) fn align52(c: Cell) -> u64 {
    c.bits << (52 - u32::from(c.step) * 2)
}

/// The extent of a cell.
pub(crate) fn decode(lon: Range, lat: Range, c: Cell) -> Area {
    let (ilat, ilon) = deinterleave(c.bits);
    // Redis divides by 2^step; multiplying by 2^-step gives the same double (scaling by a
    // power of two is exact for these magnitudes) without four divisions per point.
    let inv = 1.0 / (1u64 << c.step) as f64;
    let lat_scale = lat.max - lat.min;
    let lon_scale = lon.max - lon.min;
    // `ilat + 1` is 32-bit unsigned arithmetic in Redis: it wraps for an all-ones offset.
    Area {
        lat: Range {
            min: lat.min + (f64::from(ilat) * inv) * lat_scale,
            max: lat.min + (f64::from(ilat.wrapping_add(1)) * inv) * lat_scale,
        },
        lon: Range {
            min: lon.min + (f64::from(ilon) * inv) * lon_scale,
            max: lon.min + (f64::from(ilon.wrapping_add(1)) * inv) * lon_scale,
        },
    }
}

/// A sorted-set score as Redis turns it into geohash bits: `(uint64_t)score` as x86-64 code
/// compiled by GCC computes it (scores are any double, not only ones GEOADD made).
pub(crate) fn score_bits(score: f64) -> u64 {
    const TWO63: f64 = 9_223_372_036_854_775_808.0;
    // cvttsd2si yields 0x8000000000000000 for anything outside the i64 range (and NaN).
    let cvt = |d: f64| -> u64 {
        if (-TWO63..TWO63).contains(&d) {
            (d as i64) as u64
        } else {
            0x8000_0000_0000_0000
        }
    };
    if score < TWO63 {
        cvt(score)
    } else {
        cvt(score - TWO63) ^ 0x8000_0000_0000_0000
    }
}

/// The cell centre of a stored score, clamped to the storable limits: `(lon, lat)`.
pub(crate) fn decode_score(score: f64) -> (f64, f64) {
    let a = decode(
        LON_RANGE,
        LAT_RANGE,
        Cell {
            bits: score_bits(score),
            step: STEP_MAX,
        },
    );
    let lon = ((a.lon.min + a.lon.max) / 2.0).clamp(LON_MIN, LON_MAX);
    let lat = ((a.lat.min + a.lat.max) / 2.0).clamp(LAT_MIN, LAT_MAX);
    (lon, lat)
}

const GEO_ALPHABET: &[u8; 32] = b"0123456789bcdefghjkmnpqrstuvwxyz";

/// GEOHASH's 11-character string for a stored score: the decoded position re-encoded over
/// the standard −90..90 latitude range (the 11th character is always `0`: 52 bits only).
pub(crate) fn hash_string(score: f64) -> [u8; 11] {
    let (lon, lat) = decode_score(score);
    // A decoded position always lies in the storable limits, hence in the standard ranges.
    let bits = encode(LON_RANGE, LAT_RANGE_STD, lon, lat, STEP_MAX).map_or(0, |c| c.bits);
    let mut out = [b'0'; 11];
    for (i, o) in out.iter_mut().enumerate().take(10) {
        let idx = (bits >> (52 - (i + 1) * 5)) & 0x1f;
        *o = GEO_ALPHABET.get(idx as usize).copied().unwrap_or(b'0');
    }
    out
}

fn move_x(c: &mut Cell, d: i8) {
    if d == 0 {
        return;
    }
    let shift = 64 - u32::from(c.step) * 2;
    let mut x = c.bits & 0xaaaa_aaaa_aaaa_aaaa;
    let y = c.bits & 0x5555_5555_5555_5555;
    let zz = 0x5555_5555_5555_5555u64 >> shift;
    if d > 0 {
        x = x.wrapping_add(zz + 1);
    } else {
        x |= zz;
        x = x.wrapping_sub(zz + 1);
    }
    x &= 0xaaaa_aaaa_aaaa_aaaau64 >> shift;
    c.bits = x | y;
}

fn move_y(c: &mut Cell, d: i8) {
    if d == 0 {
        return;
    }
    let shift = 64 - u32::from(c.step) * 2;
    let x = c.bits & 0xaaaa_aaaa_aaaa_aaaa;
    let mut y = c.bits & 0x5555_5555_5555_5555;
    let zz = 0xaaaa_aaaa_aaaa_aaaau64 >> shift;
    if d > 0 {
        y = y.wrapping_add(zz + 1);
    } else {
        y |= zz;
        y = y.wrapping_sub(zz + 1);
    }
    y &= 0x5555_5555_5555_5555u64 >> shift;
    c.bits = x | y;
}

/// The neighbour of `c` by `dx` columns (east positive) and `dy` rows (north positive),
/// wrapping around at the edges of the grid (so the antimeridian is crossed).
fn neighbour(c: Cell, dx: i8, dy: i8) -> Cell {
    let mut n = c;
    move_x(&mut n, dx);
    move_y(&mut n, dy);
    n
}

/// Redis's step estimate for a search of `radius_m` meters around latitude `lat`.
pub(crate) fn estimate_step(radius_m: f64, lat: f64) -> u8 {
    if radius_m == 0.0 {
        return 26;
    }
    let mut r = radius_m;
    let mut step: i32 = 1;
    while r < MERCATOR_MAX {
        r *= 2.0;
        step += 1;
    }
    step -= 2;
    if !(-66.0..=66.0).contains(&lat) {
        step -= 1;
        if !(-80.0..=80.0).contains(&lat) {
            step -= 1;
        }
    }
    step.clamp(1, 26) as u8
}

/// Great-circle distance in meters by the haversine formula, as Redis 7.0 computes it.
pub(crate) fn distance(lon1: f64, lat1: f64, lon2: f64, lat2: f64) -> f64 {
    let lat1r = deg_rad(lat1);
    let lon1r = deg_rad(lon1);
    let lat2r = deg_rad(lat2);
    let lon2r = deg_rad(lon2);
    let u = ((lat2r - lat1r) / 2.0).sin();
    let v = ((lon2r - lon1r) / 2.0).sin();
    2.0 * EARTH_RADIUS_M * (u * u + lat1r.cos() * lat2r.cos() * v * v).sqrt().asin()
}

/// The search shape in meters (already multiplied by the unit's factor where Redis does).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Shape {
    /// A circle of `radius` units.
    Circle { radius: f64 },
    /// An axis-aligned box of `width` × `height` units.
    Rect { width: f64, height: f64 },
}

/// A search: centre, shape, and the unit's meters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Query {
    pub(crate) lon: f64,
    pub(crate) lat: f64,
    pub(crate) shape: Shape,
    pub(crate) conversion: f64,
}

impl Query {
    /// `[min_lon, min_lat, max_lon, max_lat]` of the search area.
    fn bounding_box(&self) -> [f64; 4] {
        let (h, w) = match self.shape {
            Shape::Circle { radius } => (radius, radius),
            Shape::Rect { width, height } => (height / 2.0, width / 2.0),
        };
        let height = self.conversion * h;
        let width = self.conversion * w;
        let lat_delta = rad_deg(height / EARTH_RADIUS_M);
        let lon_delta_top = rad_deg(width / EARTH_RADIUS_M / deg_rad(self.lat + lat_delta).cos());
        let lon_delta_bottom =
            rad_deg(width / EARTH_RADIUS_M / deg_rad(self.lat - lat_delta).cos());
        // The box is wider on the side nearer the pole.
        let d = if self.lat < 0.0 {
            lon_delta_bottom
        } else {
            lon_delta_top
        };
        [
            self.lon - d,
            self.lat - lat_delta,
            self.lon + d,
            self.lat + lat_delta,
        ]
    }

    /// The cells to scan: the centre cell and its eight neighbours (`None` where Redis
    /// excludes a neighbour that cannot hold a match), in Redis's order: centre, N, S, E, W,
    /// NE, NW, SE, SW.
    pub(crate) fn cells(&self) -> [Option<Cell>; 9] {
        let [min_lon, min_lat, max_lon, max_lat] = self.bounding_box();
        let radius_m = match self.shape {
            Shape::Circle { radius } => radius,
            Shape::Rect { width, height } => {
                ((width / 2.0) * (width / 2.0) + (height / 2.0) * (height / 2.0)).sqrt()
            }
        } * self.conversion;
        let mut step = estimate_step(radius_m, self.lat);
        let at = |step: u8| {
            encode(LON_RANGE, LAT_RANGE, self.lon, self.lat, step).unwrap_or(Cell { bits: 0, step })
        };
        let mut hash = at(step);
        let area = |c: Cell| decode(LON_RANGE, LAT_RANGE, c);
        // A step too fine for the area near an edge of the centre cell: one step coarser.
        let north = area(neighbour(hash, 0, 1));
        let south = area(neighbour(hash, 0, -1));
        let east = area(neighbour(hash, 1, 0));
        let west = area(neighbour(hash, -1, 0));
        let decrease = north.lat.max < max_lat
            || south.lat.min > min_lat
            || east.lon.max < max_lon
            || west.lon.min > min_lon;
        if step > 1 && decrease {
            step -= 1;
            hash = at(step);
        }
        let a = area(hash);
        let mut keep = [true; 9];
        // Order: 0 centre, 1 N, 2 S, 3 E, 4 W, 5 NE, 6 NW, 7 SE, 8 SW.
        if step >= 2 {
            if a.lat.min < min_lat {
                for i in [2, 7, 8] {
                    keep[i] = false;
                }
            }
            if a.lat.max > max_lat {
                for i in [1, 5, 6] {
                    keep[i] = false;
                }
            }
            if a.lon.min < min_lon {
                for i in [4, 8, 6] {
                    keep[i] = false;
                }
            }
            if a.lon.max > max_lon {
                for i in [3, 7, 5] {
                    keep[i] = false;
                }
            }
        }
        let moves: [(i8, i8); 9] = [
            (0, 0),
            (0, 1),
            (0, -1),
            (1, 0),
            (-1, 0),
            (1, 1),
            (-1, 1),
            (1, -1),
            (-1, -1),
        ];
        let mut out = [None; 9];
        for ((o, &(dx, dy)), k) in out.iter_mut().zip(&moves).zip(keep) {
            if k {
                *o = Some(neighbour(hash, dx, dy));
            }
        }
        out
    }

    /// Whether a stored point lies in the shape: its distance from the centre (meters) if so.
    /// The literal Redis 7.0 formulas (`geoWithinShape`); searches use the equal and cheaper
    /// [`Filter`], tested against this.
    #[cfg(test)]
    pub(crate) fn within(&self, lon: f64, lat: f64) -> Option<f64> {
        match self.shape {
            Shape::Circle { radius } => {
                let d = distance(self.lon, self.lat, lon, lat);
                (d <= radius * self.conversion).then_some(d)
            }
            Shape::Rect { width, height } => {
                let width_m = width * self.conversion;
                let height_m = height * self.conversion;
                let lon_d = distance(lon, lat, self.lon, lat);
                let lat_d = distance(lon, lat, lon, self.lat);
                if lon_d > width_m / 2.0 || lat_d > height_m / 2.0 {
                    return None;
                }
                Some(distance(self.lon, self.lat, lon, lat))
            }
        }
    }
}

/// [`Query::within`] made cheaper with the same results, bit for bit: the centre's cosine is
/// computed once, a point's cosine once, and a point whose latitude alone puts it out of
/// reach is dropped before any trigonometry. The great-circle distance is never below
/// `R·|Δlatitude|`, and the computed haversine is within a few ulps of the true distance
/// except near antipodes, where `asin` near 1 magnifies rounding to about 0.1 m; the bound is
/// applied with a margin of 1 m plus one part per million, far above either error.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Filter {
    lon1r: f64,
    lat1r: f64,
    cos1: f64,
    shape: Shape,
    conversion: f64,
    /// Largest `R·|Δlatitude|` (meters) a match can have, margin included.
    lat_reach: f64,
    /// Largest `|Δlongitude|` (radians, folded into 0..=π) a match can have, margin
    /// included; infinite where no useful bound holds.
    lon_reach: f64,
}

/// The longitude bound of [`Filter`]: a point of the latitude band has `cos(lat) >= cos_min`,
/// so the circle's haversine term `cos(lat1)·cos(lat2)·sin²(Δlon/2)`, or the box's
/// east-west distance `2R·asin(cos(lat2)·|sin(Δlon/2)|)`, already exceeds the size once
/// `Δlon` passes the returned angle. Applied only below π/2, where `sin(Δlon/2)` grows
/// steadily, with a relative margin of 1e-6 (the computed distances err by ~1e-15 relative).
fn lon_reach(shape: Shape, conversion: f64, cos1: f64, cos_min: f64) -> f64 {
    let k = match shape {
        Shape::Circle { radius } => {
            let half = radius * conversion / (2.0 * EARTH_RADIUS_M);
            if half.is_nan() || half >= std::f64::consts::FRAC_PI_2 {
                return f64::INFINITY;
            }
            (half.sin() * half.sin() / (cos1 * cos_min)).sqrt()
        }
        Shape::Rect { width, .. } => {
            let quarter = width * conversion / (4.0 * EARTH_RADIUS_M);
            if quarter.is_nan() || quarter >= std::f64::consts::FRAC_PI_2 {
                return f64::INFINITY;
            }
            quarter.sin() / cos_min
        }
    };
    if !(0.0..1.0).contains(&k) {
        return f64::INFINITY;
    }
    let reach = 2.0 * k.asin();
    if reach < std::f64::consts::FRAC_PI_2 {
        reach * (1.0 + 1e-6) + 1e-9
    } else {
        f64::INFINITY
    }
}

impl Filter {
    pub(crate) fn new(q: &Query) -> Filter {
        let lat1r = deg_rad(q.lat);
        let reach = match q.shape {
            Shape::Circle { radius } => radius * q.conversion,
            Shape::Rect { height, .. } => height * q.conversion / 2.0,
        };
        let lat_reach = reach + reach.abs() * 1e-6 + 1.0;
        let cos1 = lat1r.cos();
        // The band of latitudes the latitude bound lets through (stored points never pass
        // the Mercator limit).
        let band = (lat1r.abs() + lat_reach / EARTH_RADIUS_M).min(deg_rad(LAT_MAX));
        Filter {
            lon1r: deg_rad(q.lon),
            lat1r,
            cos1,
            shape: q.shape,
            conversion: q.conversion,
            lat_reach,
            lon_reach: lon_reach(q.shape, q.conversion, cos1, band.cos()),
        }
    }

    /// As [`Query::within`].
    #[inline]
    pub(crate) fn test(&self, lon: f64, lat: f64) -> Option<f64> {
        let lat2r = deg_rad(lat);
        // NaN reach (a NaN size) compares false: the exact test below decides.
        if EARTH_RADIUS_M * (lat2r - self.lat1r).abs() > self.lat_reach {
            return None;
        }
        let lon2r = deg_rad(lon);
        let mut dlon = (lon2r - self.lon1r).abs();
        if dlon > std::f64::consts::PI {
            dlon = 2.0 * std::f64::consts::PI - dlon;
        }
        if dlon > self.lon_reach {
            return None;
        }
        let cos2 = lat2r.cos();
        match self.shape {
            Shape::Circle { radius } => {
                let d = self.centre_distance(lat2r, lon2r, cos2);
                (d <= radius * self.conversion).then_some(d)
            }
            Shape::Rect { width, height } => {
                let width_m = width * self.conversion;
                let height_m = height * self.conversion;
                // distance(lon, lat, lon, centre lat): the longitude term is exactly +0.
                let u = ((self.lat1r - lat2r) / 2.0).sin();
                let lat_d = 2.0 * EARTH_RADIUS_M * (u * u).sqrt().asin();
                if lat_d > height_m / 2.0 {
                    return None;
                }
                // distance(lon, lat, centre lon, lat): the latitude term is exactly 0.
                let v = ((self.lon1r - lon2r) / 2.0).sin();
                let lon_d = 2.0 * EARTH_RADIUS_M * (cos2 * cos2 * v * v).sqrt().asin();
                if lon_d > width_m / 2.0 {
                    return None;
                }
                Some(self.centre_distance(lat2r, lon2r, cos2))
            }
        }
    }

    /// `distance(centre, point)` with the cosines at hand, in [`distance`]'s operation order.
    #[inline]
    fn centre_distance(&self, lat2r: f64, lon2r: f64, cos2: f64) -> f64 {
        let u = ((lat2r - self.lat1r) / 2.0).sin();
        let v = ((lon2r - self.lon1r) / 2.0).sin();
        2.0 * EARTH_RADIUS_M * (u * u + self.cos1 * cos2 * v * v).sqrt().asin()
    }
}

/// The score interval `[min, max)` a cell covers.
pub(crate) fn cell_scores(c: Cell) -> (f64, f64) {
    let min = align52(c);
    let max = align52(Cell {
        bits: c.bits.wrapping_add(1),
        step: c.step,
    });
    (min as f64, max as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interleave_round_trips() {
        for &(a, b) in &[
            (0u32, 0u32),
            (1, 0),
            (0, 1),
            (u32::MAX, 0),
            (0x1234_5678, 0x9abc_def0),
        ] {
            assert_eq!(deinterleave(interleave(a, b)), (a, b));
        }
        assert_eq!(interleave(1, 0), 1);
        assert_eq!(interleave(0, 1), 2);
        assert_eq!(interleave(3, 0), 5);
    }

    #[test]
    fn scores_match_redis() {
        // Values observed from redis-server 7.0 (GEOADD then ZSCORE).
        assert_eq!(score_of(13.361389, 38.115556), Some(3479099956230698));
        assert_eq!(score_of(15.087269, 37.502669), Some(3479447370796909));
        assert_eq!(score_of(180.0, 85.05112878), Some(13510798882111488));
        assert_eq!(score_of(-180.0, -85.05112878), Some(0));
        assert_eq!(score_of(180.0, 0.0), Some(10133099161583616));
        assert_eq!(score_of(180.000001, 0.0), None);
        assert_eq!(score_of(0.0, 85.06), None);
    }

    #[test]
    fn decode_matches_redis() {
        let (lon, lat) = decode_score(3479099956230698.0);
        assert_eq!(format!("{lon:.17}"), "13.36138933897018433");
        assert_eq!(format!("{lat:.17}"), "38.11555639549629859");
        let (lon, lat) = decode_score(13510798882111488.0);
        assert_eq!((lon, lat), (180.0, LAT_MAX));
        let (lon, lat) = decode_score(0.0);
        assert_eq!(format!("{lon:.17}"), "-179.99999731779098511");
        assert_eq!(format!("{lat:.17}"), "-85.05112751263942528");
    }

    #[test]
    fn decode_stays_in_its_cell() {
        let mut rng = fastrand::Rng::with_seed(7);
        for _ in 0..10_000 {
            let lon = rng.f64() * 360.0 - 180.0;
            let lat = rng.f64() * 2.0 * LAT_MAX - LAT_MAX;
            let Some(s) = score_of(lon, lat) else {
                panic!("valid point refused: {lon} {lat}");
            };
            assert!(s < 1 << 52);
            let (dlon, dlat) = decode_score(s as f64);
            // A 26-bit cell is 360/2^26 degrees wide: the centre is within half of that.
            assert!((dlon - lon).abs() <= 360.0 / f64::from(1u32 << 26));
            assert!((dlat - lat).abs() <= 2.0 * LAT_MAX / f64::from(1u32 << 26));
            assert_eq!(score_of(dlon, dlat), Some(s));
        }
    }

    #[test]
    fn hash_strings_match_redis() {
        assert_eq!(&hash_string(3479099956230698.0), b"sqc8b49rny0");
        assert_eq!(&hash_string(3479447370796909.0), b"sqdtr74hyu0");
        assert_eq!(&hash_string(13510798882111488.0), b"bp05b5048p0");
        assert_eq!(&hash_string(0.0), b"00bh0hbj200");
        assert_eq!(&hash_string(10133099161583616.0), b"80000000000");
    }

    #[test]
    fn distance_matches_redis() {
        let (a, b) = (
            decode_score(3479099956230698.0),
            decode_score(3479447370796909.0),
        );
        let d = distance(a.0, a.1, b.0, b.1);
        assert_eq!(format!("{:.4}", d), "166274.1516");
        assert_eq!(format!("{:.4}", d / 1000.0), "166.2742");
        assert_eq!(distance(1.0, 2.0, 1.0, 2.0), 0.0);
        // Half the circumference along the equator.
        let half = distance(-90.0, 0.0, 90.0, 0.0);
        assert!((half - std::f64::consts::PI * EARTH_RADIUS_M).abs() < 1e-6);
    }

    /// Multiplying by 2^-step decodes exactly as Redis's division by 2^step.
    #[test]
    fn decode_multiplies_like_redis_divides() {
        let mut rng = fastrand::Rng::with_seed(17);
        for _ in 0..200_000 {
            let step = rng.u8(1..=32);
            let c = Cell {
                bits: rng.u64(..) >> (64 - 2 * u32::from(step)),
                step,
            };
            let a = decode(LON_RANGE, LAT_RANGE, c);
            let (ilat, ilon) = deinterleave(c.bits);
            let div = (1u64 << step) as f64;
            let lit = |i: u32, r: Range| r.min + (f64::from(i) * 1.0 / div) * (r.max - r.min);
            assert_eq!(a.lat.min.to_bits(), lit(ilat, LAT_RANGE).to_bits());
            assert_eq!(
                a.lat.max.to_bits(),
                lit(ilat.wrapping_add(1), LAT_RANGE).to_bits()
            );
            assert_eq!(a.lon.min.to_bits(), lit(ilon, LON_RANGE).to_bits());
            assert_eq!(
                a.lon.max.to_bits(),
                lit(ilon.wrapping_add(1), LON_RANGE).to_bits()
            );
        }
    }

    #[test]
    fn casts_like_x86_64() {
        assert_eq!(score_bits(3.0), 3);
        assert_eq!(score_bits(-1.0), u64::MAX);
        assert_eq!(score_bits(-0.5), 0);
        assert_eq!(score_bits(1e30), 0);
        assert_eq!(score_bits(f64::INFINITY), 0);
        assert_eq!(score_bits(f64::NEG_INFINITY), 1 << 63);
        assert_eq!(score_bits(9_223_372_036_854_775_808.0), 1 << 63);
        assert_eq!(score_bits(-9_223_372_036_854_775_808.0), 1 << 63);
    }

    #[test]
    fn neighbours_wrap() {
        let c = Cell { bits: 0, step: 2 };
        // West of column 0 is column 3 (lon bits are the odd ones).
        let w = neighbour(c, -1, 0);
        assert_eq!(deinterleave(w.bits), (0, 3));
        let s = neighbour(c, 0, -1);
        assert_eq!(deinterleave(s.bits), (3, 0));
        let ne = neighbour(c, 1, 1);
        assert_eq!(deinterleave(ne.bits), (1, 1));
    }

    /// The fast filter answers exactly as the literal Redis formulas, distances bit for bit.
    #[test]
    fn filter_equals_literal_test() {
        let mut rng = fastrand::Rng::with_seed(99);
        let (mut kept, mut lon_cut) = (0, 0);
        for i in 0..300_000 {
            let clon = rng.f64() * 360.0 - 180.0;
            let clat = (rng.f64() * 2.0 - 1.0) * LAT_MAX;
            let (lon, lat) = match i % 5 {
                0 | 2 => (rng.f64() * 360.0 - 180.0, (rng.f64() * 2.0 - 1.0) * LAT_MAX),
                1 => (
                    (clon + (rng.f64() - 0.5) * 10.0).clamp(-180.0, 180.0),
                    (clat + (rng.f64() - 0.5) * 10.0).clamp(LAT_MIN, LAT_MAX),
                ),
                // Near the centre's latitude, east or west of it (across ±180° too).
                _ => {
                    let mut x = clon + (rng.f64() - 0.5) * 40.0;
                    if x > 180.0 {
                        x -= 360.0;
                    } else if x < -180.0 {
                        x += 360.0;
                    }
                    (x, (clat + (rng.f64() - 0.5) * 0.6).clamp(LAT_MIN, LAT_MAX))
                }
            };
            let conversion = [1.0, 1000.0, 0.3048, 1609.34][rng.usize(0..4)];
            let size = 10f64.powf(rng.f64() * if i % 5 >= 3 { 6.5 } else { 7.5 }) / conversion;
            let shape = match i % 4 {
                3 => {
                    // Just past a point's east-west reach: the longitude bound's edge.
                    let d = distance(clon, clat, lon, lat) / conversion;
                    let f = 1.0 + (rng.f64() - 0.5) * 1e-5;
                    if rng.bool() {
                        Shape::Circle { radius: d * f }
                    } else {
                        Shape::Rect {
                            width: 2.0 * distance(lon, lat, clon, lat) / conversion * f,
                            height: size,
                        }
                    }
                }
                0 => Shape::Circle { radius: size },
                1 => Shape::Rect {
                    width: size,
                    height: size * rng.f64() * 3.0,
                },
                // Sizes exactly at a point's distance: the boundary cases.
                _ => {
                    let d = distance(clon, clat, lon, lat) / conversion;
                    if rng.bool() {
                        Shape::Circle { radius: d }
                    } else {
                        Shape::Rect {
                            width: 2.0 * distance(lon, lat, clon, lat) / conversion,
                            height: 2.0 * distance(lon, lat, lon, clat) / conversion,
                        }
                    }
                }
            };
            let q = Query {
                lon: clon,
                lat: clat,
                shape,
                conversion,
            };
            let want = q.within(lon, lat);
            let f = Filter::new(&q);
            let got = f.test(lon, lat);
            let mut dlon = (deg_rad(lon) - f.lon1r).abs();
            if dlon > std::f64::consts::PI {
                dlon = 2.0 * std::f64::consts::PI - dlon;
            }
            let in_band = EARTH_RADIUS_M * (deg_rad(lat) - f.lat1r).abs() <= f.lat_reach;
            lon_cut += usize::from(in_band && dlon > f.lon_reach);
            assert_eq!(
                got.map(f64::to_bits),
                want.map(f64::to_bits),
                "{q:?} at {lon},{lat}"
            );
            kept += usize::from(want.is_some());
        }
        assert!(kept > 20_000, "{kept} inside");
        assert!(lon_cut > 10_000, "{lon_cut} cut by the longitude bound");
    }

    #[test]
    fn steps() {
        assert_eq!(estimate_step(0.0, 0.0), 26);
        assert_eq!(estimate_step(1.0, 0.0), 24);
        assert_eq!(estimate_step(200_000.0, 0.0), 6);
        assert_eq!(estimate_step(200_000.0, 70.0), 5);
        assert_eq!(estimate_step(200_000.0, -85.0), 4);
        assert_eq!(estimate_step(1e9, 0.0), 1);
    }
}
