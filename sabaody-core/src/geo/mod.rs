//! Geospatial indexes: the typed [`GeoOps`] API over sorted sets.
//!
//! A geo key **is** a sorted set (as in Redis): each member's score is the 52-bit interleaved
//! geohash of its position ([`hash`] describes the encoding), so `ZRANGE`, `ZREM`, `ZSCORE`...
//! work on it, and the geo commands work on any sorted set (a score is read as a geohash).
//!
//! # Search
//!
//! A radius or box search does what Redis 7.0 does, step for step, so the same members come
//! back in the same order: the radius (or the box's half diagonal) picks a geohash precision
//! (`step` bits per axis) at which the centre's cell and its eight neighbours cover the
//! search area; neighbours that cannot hold a match are dropped; each remaining cell is one
//! contiguous score interval, walked in score order; every member in it is decoded to its cell
//! centre and kept if its haversine distance (Earth radius 6372797.560856 m) is within the
//! radius (or its east-west and north-south distances within the box). Cells wrap around the
//! grid, so a search near ±180° longitude also scans the cells across the antimeridian.
//! Results are unsorted (scan order) unless ASC/DESC is asked; `COUNT n` sorts ascending by
//! default and keeps the first `n`; `COUNT n ANY` stops scanning at the `n`th match.
//!
//! ```
//! use sabaody_core::{Cache, Coord, GeoAddOptions, GeoFrom, GeoOps, GeoSearch, GeoShape, GeoSort, GeoUnit};
//! let cache = Cache::builder().build();
//! let palermo = Coord::new(13.361389, 38.115556).unwrap();
//! let catania = Coord::new(15.087269, 37.502669).unwrap();
//! cache.geo_add("sicily", &GeoAddOptions::default(), &[(palermo, "Palermo"), (catania, "Catania")]).unwrap();
//! let d = cache.geo_dist("sicily", "Palermo", "Catania", GeoUnit::Km).unwrap();
//! assert_eq!(format!("{:.4}", d.unwrap()), "166.2742");
//! let q = GeoSearch {
//!     from: GeoFrom::LonLat(Coord::new(15.0, 37.0).unwrap()),
//!     shape: GeoShape::Radius(100.0),
//!     unit: GeoUnit::Km,
//!     sort: GeoSort::Asc,
//!     count: None,
//! };
//! let found = cache.geo_search("sicily", &q).unwrap().found().unwrap_or_default();
//! assert_eq!(found.len(), 1);
//! assert_eq!(&found[0].member[..], b"Catania");
//! ```

pub(crate) mod hash;
pub(crate) mod pqsort;
mod search;

use bytes::Bytes;

use crate::Error;
use crate::keyspace::Keyspace;
use crate::zset::ZAddOptions;

/// A position that can be stored: longitude in −180..=180, latitude in
/// −85.05112878..=85.05112878 (the Web Mercator limits Redis uses).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Coord {
    lon: f64,
    lat: f64,
}

/// A longitude/latitude pair outside the storable limits.
///
/// `Display` is Redis's text without its `ERR` prefix:
/// `invalid longitude,latitude pair 200.000000,10.000000`.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
#[error("invalid longitude,latitude pair {lon:.6},{lat:.6}")]
pub struct InvalidCoord {
    /// The longitude given.
    pub lon: f64,
    /// The latitude given.
    pub lat: f64,
}

impl Coord {
    /// A checked position.
    ///
    /// # Errors
    /// [`InvalidCoord`] outside the limits (NaN included).
    pub fn new(lon: f64, lat: f64) -> Result<Coord, InvalidCoord> {
        if hash::valid(lon, lat) {
            Ok(Coord { lon, lat })
        } else {
            Err(InvalidCoord { lon, lat })
        }
    }

    /// Longitude in degrees.
    #[must_use]
    pub fn lon(&self) -> f64 {
        self.lon
    }

    /// Latitude in degrees.
    #[must_use]
    pub fn lat(&self) -> f64 {
        self.lat
    }

    /// The sorted-set score GEOADD stores for this position (a 52-bit integer, or slightly
    /// more at exactly 180° or 85.05112878°, as in Redis).
    #[must_use]
    pub fn score(&self) -> f64 {
        hash::score_of(self.lon, self.lat).unwrap_or(0) as f64
    }

    /// The position a stored score stands for: the centre of its 26-bit cell (what GEOPOS
    /// returns), clamped to the limits. Any score decodes (a sorted set made by ZADD too).
    #[must_use]
    pub fn from_score(score: f64) -> Coord {
        let (lon, lat) = hash::decode_score(score);
        Coord { lon, lat }
    }
}

/// A distance unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum GeoUnit {
    /// Meters.
    #[default]
    M,
    /// Kilometers.
    Km,
    /// Feet (0.3048 m).
    Ft,
    /// Miles (1609.34 m, Redis's figure).
    Mi,
}

impl GeoUnit {
    /// `m`, `km`, `ft`, `mi`, any case.
    #[must_use]
    pub fn parse(s: &[u8]) -> Option<GeoUnit> {
        [
            (&b"m"[..], GeoUnit::M),
            (b"km", GeoUnit::Km),
            (b"ft", GeoUnit::Ft),
            (b"mi", GeoUnit::Mi),
        ]
        .into_iter()
        .find(|(n, _)| s.eq_ignore_ascii_case(n))
        .map(|(_, u)| u)
    }

    /// Meters per unit.
    #[must_use]
    pub fn meters(self) -> f64 {
        match self {
            GeoUnit::M => 1.0,
            GeoUnit::Km => 1000.0,
            GeoUnit::Ft => 0.3048,
            GeoUnit::Mi => 1609.34,
        }
    }
}

/// GEOADD's flags.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GeoAddOptions {
    /// `NX`: only add new members.
    pub nx: bool,
    /// `XX`: only update existing members.
    pub xx: bool,
    /// `CH`: count changed members too.
    pub ch: bool,
}

/// The centre of a search.
#[derive(Debug, Clone, PartialEq)]
pub enum GeoFrom {
    /// `FROMMEMBER member`: the member's stored position.
    Member(Bytes),
    /// `FROMLONLAT lon lat`.
    LonLat(Coord),
}

/// The area of a search, in the search's unit. Negative (or NaN) sizes match nothing.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum GeoShape {
    /// `BYRADIUS radius`.
    Radius(f64),
    /// `BYBOX width height` (east-west width, north-south height).
    Box {
        /// East-west extent.
        width: f64,
        /// North-south extent.
        height: f64,
    },
}

/// Result order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum GeoSort {
    /// Scan order (ascending by distance anyway when a plain `COUNT` is given).
    #[default]
    Unsorted,
    /// Nearest first.
    Asc,
    /// Farthest first.
    Desc,
}

/// `COUNT n [ANY]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GeoCount {
    /// At most this many results (must be > 0 to mean anything; 0 is "no limit").
    pub n: usize,
    /// `ANY`: stop at the first `n` matches found instead of the nearest `n`.
    pub any: bool,
}

/// A GEOSEARCH request.
#[derive(Debug, Clone, PartialEq)]
pub struct GeoSearch {
    /// Centre.
    pub from: GeoFrom,
    /// Area.
    pub shape: GeoShape,
    /// Unit of the shape's sizes and of the distances returned.
    pub unit: GeoUnit,
    /// Order.
    pub sort: GeoSort,
    /// Limit.
    pub count: Option<GeoCount>,
}

/// One search result.
#[derive(Debug, Clone, PartialEq)]
pub struct GeoMatch {
    /// The member.
    pub member: Bytes,
    /// Distance from the centre, in the search's unit.
    pub dist: f64,
    /// The stored score (the geohash, WITHHASH).
    pub score: f64,
    /// Decoded longitude (the cell centre).
    pub lon: f64,
    /// Decoded latitude (the cell centre).
    pub lat: f64,
}

/// What a search found.
#[derive(Debug, Clone, PartialEq)]
pub enum GeoFound<T> {
    /// The key does not exist (a store deleted the destination).
    NoKey,
    /// The centre member is not in the set (`ERR could not decode requested zset member`).
    NoMember,
    /// The results.
    Found(T),
}

impl<T> GeoFound<T> {
    /// The results, `None` for a missing centre member, `Some(default)` for a missing key.
    pub fn found(self) -> Option<T>
    where
        T: Default,
    {
        match self {
            GeoFound::NoKey => Some(T::default()),
            GeoFound::NoMember => None,
            GeoFound::Found(t) => Some(t),
        }
    }
}

/// The geospatial commands, for [`crate::Cache`] and [`crate::Transaction`].
pub trait GeoOps: Keyspace {
    /// `GEOADD key [NX|XX] [CH] lon lat member...`: members added (plus updated with CH).
    ///
    /// # Errors
    /// [`Error::ZAddNxXx`] for NX with XX; [`Error::WrongType`]; [`Error::OutOfMemory`].
    fn geo_add<M: AsRef<[u8]>>(
        &self,
        key: impl AsRef<[u8]>,
        opts: &GeoAddOptions,
        items: &[(Coord, M)],
    ) -> Result<usize, Error> {
        let (added, updated) = self.geo_add_counts(key, opts, items)?;
        Ok(if opts.ch { added + updated } else { added })
    }

    /// As [`GeoOps::geo_add`], telling apart the members added (first) and the members that
    /// moved (second), whatever `opts.ch` says.
    ///
    /// # Errors
    /// As [`GeoOps::geo_add`].
    fn geo_add_counts<M: AsRef<[u8]>>(
        &self,
        key: impl AsRef<[u8]>,
        opts: &GeoAddOptions,
        items: &[(Coord, M)],
    ) -> Result<(usize, usize), Error> {
        let pairs: Vec<(f64, &[u8])> = items.iter().map(|(c, m)| (c.score(), m.as_ref())).collect();
        let z = ZAddOptions {
            nx: opts.nx,
            xx: opts.xx,
            ..ZAddOptions::default()
        };
        crate::zset::ops::zadd_counts(self, key.as_ref(), &z, &pairs)
    }

    /// `GEOPOS key member...`: each member's decoded position (`None` when absent).
    ///
    /// # Errors
    /// [`Error::WrongType`].
    fn geo_pos<M: AsRef<[u8]>>(
        &self,
        key: impl AsRef<[u8]>,
        members: &[M],
    ) -> Result<Vec<Option<Coord>>, Error> {
        let r = crate::zset::ops::with_zset(self, key.as_ref(), |z| {
            members
                .iter()
                .map(|m| z.score(m.as_ref()).map(Coord::from_score))
                .collect()
        })?;
        Ok(r.unwrap_or_else(|| vec![None; members.len()]))
    }

    /// `GEODIST key a b [unit]`: `None` when the key or either member is missing.
    ///
    /// # Errors
    /// [`Error::WrongType`].
    fn geo_dist(
        &self,
        key: impl AsRef<[u8]>,
        a: impl AsRef<[u8]>,
        b: impl AsRef<[u8]>,
        unit: GeoUnit,
    ) -> Result<Option<f64>, Error> {
        let (a, b) = (a.as_ref(), b.as_ref());
        let r = crate::zset::ops::with_zset(self, key.as_ref(), |z| {
            let (x, y) = (z.score(a)?, z.score(b)?);
            let (p, q) = (hash::decode_score(x), hash::decode_score(y));
            Some(hash::distance(p.0, p.1, q.0, q.1) / unit.meters())
        })?;
        Ok(r.flatten())
    }

    /// `GEOHASH key member...`: the 11-character standard geohash of each member.
    ///
    /// # Errors
    /// [`Error::WrongType`].
    fn geo_hash<M: AsRef<[u8]>>(
        &self,
        key: impl AsRef<[u8]>,
        members: &[M],
    ) -> Result<Vec<Option<[u8; 11]>>, Error> {
        let r = crate::zset::ops::with_zset(self, key.as_ref(), |z| {
            members
                .iter()
                .map(|m| z.score(m.as_ref()).map(hash::hash_string))
                .collect()
        })?;
        Ok(r.unwrap_or_else(|| vec![None; members.len()]))
    }

    /// `GEOSEARCH key ...` (and GEORADIUS / GEORADIUSBYMEMBER): the matches, in the
    /// requested order.
    ///
    /// # Errors
    /// [`Error::WrongType`].
    fn geo_search(
        &self,
        key: impl AsRef<[u8]>,
        q: &GeoSearch,
    ) -> Result<GeoFound<Vec<GeoMatch>>, Error> {
        search::search(self, key.as_ref(), q)
    }

    /// `GEOSEARCHSTORE dst src ... [STOREDIST]` (and GEORADIUS's STORE / STOREDIST): stores
    /// the matches at `dst` with their geohash scores, or with their distances (in the
    /// search's unit) when `storedist`; replaces `dst` whatever it held (deleted when there is
    /// no match or `src` is missing). Returns how many were stored.
    ///
    /// # Errors
    /// [`Error::WrongType`] if `src` is not a sorted set; [`Error::OutOfMemory`].
    fn geo_search_store(
        &self,
        dst: impl AsRef<[u8]>,
        src: impl AsRef<[u8]>,
        q: &GeoSearch,
        storedist: bool,
    ) -> Result<GeoFound<usize>, Error> {
        search::search_store(self, dst.as_ref(), src.as_ref(), q, storedist)
    }
}

impl<K: Keyspace + ?Sized> GeoOps for K {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Cache, Keyspace, ZSetOps};

    fn c(lon: f64, lat: f64) -> Coord {
        Coord::new(lon, lat).unwrap_or(Coord::from_score(0.0))
    }

    fn sicily(cache: &Cache) {
        let n = cache
            .geo_add(
                "s",
                &GeoAddOptions::default(),
                &[
                    (c(13.361389, 38.115556), "Palermo"),
                    (c(15.087269, 37.502669), "Catania"),
                ],
            )
            .unwrap_or(0);
        assert_eq!(n, 2);
    }

    #[test]
    fn coords_are_checked() {
        assert!(Coord::new(180.0, 85.05112878).is_ok());
        let e = Coord::new(200.0, 10.0).err();
        assert_eq!(
            e.map(|e| e.to_string()).as_deref(),
            Some("invalid longitude,latitude pair 200.000000,10.000000")
        );
        assert!(Coord::new(f64::NAN, 0.0).is_err());
        assert!(Coord::new(0.0, -85.06).is_err());
        assert_eq!(GeoUnit::parse(b"KM"), Some(GeoUnit::Km));
        assert_eq!(GeoUnit::parse(b"miles"), None);
    }

    #[test]
    fn add_pos_dist_hash() {
        let cache = Cache::builder().build();
        sicily(&cache);
        // A geo key is a sorted set of geohash scores.
        assert_eq!(cache.zscore("s", "Palermo"), Ok(Some(3479099956230698.0)));
        let nx = GeoAddOptions {
            nx: true,
            ch: true,
            ..GeoAddOptions::default()
        };
        assert_eq!(cache.geo_add("s", &nx, &[(c(1.0, 1.0), "Palermo")]), Ok(0));
        let xx = GeoAddOptions {
            xx: true,
            ch: true,
            ..GeoAddOptions::default()
        };
        assert_eq!(
            cache.geo_add("s", &xx, &[(c(13.5, 38.5), "Palermo"), (c(1.0, 1.0), "x")]),
            Ok(1)
        );
        assert_eq!(cache.zcard("s"), Ok(2));
        let both = GeoAddOptions {
            nx: true,
            xx: true,
            ch: false,
        };
        assert_eq!(
            cache.geo_add("s", &both, &[(c(1.0, 1.0), "x")]),
            Err(Error::ZAddNxXx)
        );
        cache
            .geo_add("s", &xx, &[(c(13.361389, 38.115556), "Palermo")])
            .unwrap_or(0);
        let pos = cache.geo_pos("s", &["Palermo", "nope"]).unwrap_or_default();
        assert_eq!(pos.len(), 2);
        assert_eq!(pos[1], None);
        let p = pos[0].unwrap_or(Coord::from_score(0.0));
        assert_eq!(
            format!("{:.17} {:.17}", p.lon(), p.lat()),
            "13.36138933897018433 38.11555639549629859"
        );
        let d = cache
            .geo_dist("s", "Palermo", "Catania", GeoUnit::M)
            .unwrap_or(None);
        assert_eq!(d.map(|d| format!("{d:.4}")).as_deref(), Some("166274.1516"));
        assert_eq!(cache.geo_dist("s", "Palermo", "nope", GeoUnit::M), Ok(None));
        assert_eq!(cache.geo_dist("missing", "a", "b", GeoUnit::Km), Ok(None));
        let h = cache
            .geo_hash("s", &["Palermo", "Catania", "nope"])
            .unwrap_or_default();
        assert_eq!(h, vec![Some(*b"sqc8b49rny0"), Some(*b"sqdtr74hyu0"), None]);
        assert_eq!(cache.geo_pos("missing", &["a"]), Ok(vec![None]));
        cache.set("str", "x").unwrap_or_default();
        assert_eq!(cache.geo_pos("str", &["a"]), Err(Error::WrongType));
        assert_eq!(
            cache.geo_add("str", &GeoAddOptions::default(), &[(c(1.0, 1.0), "a")]),
            Err(Error::WrongType)
        );
    }

    #[test]
    fn search_and_store() {
        let cache = Cache::builder().build();
        sicily(&cache);
        let q = GeoSearch {
            from: GeoFrom::LonLat(c(15.0, 37.0)),
            shape: GeoShape::Radius(200.0),
            unit: GeoUnit::Km,
            sort: GeoSort::Desc,
            count: None,
        };
        let found = cache.geo_search("s", &q).unwrap_or(GeoFound::NoKey);
        let GeoFound::Found(v) = found else {
            panic!("{found:?}");
        };
        let names: Vec<&[u8]> = v.iter().map(|m| &m.member[..]).collect();
        assert_eq!(names, vec![&b"Palermo"[..], b"Catania"]);
        assert_eq!(format!("{:.4}", v[0].dist), "190.4424");
        assert_eq!(v[1].score, 3479447370796909.0);
        assert_eq!(cache.geo_search("missing", &q), Ok(GeoFound::NoKey));
        let by_missing = GeoSearch {
            from: GeoFrom::Member(Bytes::from_static(b"nope")),
            ..q.clone()
        };
        assert_eq!(cache.geo_search("s", &by_missing), Ok(GeoFound::NoMember));
        // STORE keeps the geohash scores, STOREDIST the distances in the unit.
        assert_eq!(
            cache.geo_search_store("d", "s", &q, false),
            Ok(GeoFound::Found(2))
        );
        assert_eq!(cache.zscore("d", "Catania"), Ok(Some(3479447370796909.0)));
        assert_eq!(
            cache.geo_search_store("d", "s", &q, true),
            Ok(GeoFound::Found(2))
        );
        let s = cache.zscore("d", "Catania").unwrap_or(None).unwrap_or(0.0);
        assert_eq!(format!("{s:.4}"), "56.4413");
        // A member missing leaves the destination alone; a missing source deletes it.
        assert_eq!(
            cache.geo_search_store("d", "s", &by_missing, false),
            Ok(GeoFound::NoMember)
        );
        assert_eq!(cache.zcard("d"), Ok(2));
        assert_eq!(
            cache.geo_search_store("d", "missing", &q, false),
            Ok(GeoFound::NoKey)
        );
        assert_eq!(cache.exists(&["d"]), 0);
        let far = GeoSearch {
            from: GeoFrom::LonLat(c(-70.0, -30.0)),
            ..q.clone()
        };
        cache.set("d", "x").unwrap_or_default();
        assert_eq!(
            cache.geo_search_store("d", "s", &far, false),
            Ok(GeoFound::Found(0))
        );
        assert_eq!(cache.exists(&["d"]), 0);
        cache.set("str", "x").unwrap_or_default();
        assert_eq!(
            cache.geo_search_store("d", "str", &q, false),
            Err(Error::WrongType)
        );
        assert_eq!(cache.geo_search("str", &q), Err(Error::WrongType));
        // The same through a transaction.
        let r = cache.transaction(|tx| tx.geo_search_store("d2", "s", &q, true));
        assert_eq!(r, Ok(GeoFound::Found(2)));
        assert_eq!(cache.zcard("d2"), Ok(2));
    }
}
