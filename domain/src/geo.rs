//! Positions and distances on the earth.

use crate::error::{Error, Result};

const EARTH_RADIUS_M: f64 = 6_371_008.8;
/// Metres along one degree of a great circle (of latitude, everywhere).
pub const METRES_PER_DEGREE: f64 = EARTH_RADIUS_M * std::f64::consts::PI / 180.0;

/// Grid cells per degree of latitude and of longitude. Events carry the cell of their position
/// (`events.cell`, computed by the database: migration 000023), so a nearest-first search reads
/// one index range per cell it touches.
const CELLS_PER_DEGREE: f64 = 50.0;
/// A cell is `row * CELL_ROW + column`: rows of latitude, columns of longitude.
const CELL_ROW: i64 = 100_000;

fn cell_row(lat: f64) -> i64 {
    ((lat.clamp(-90.0, 90.0) + 90.0) * CELLS_PER_DEGREE).floor() as i64
}

fn cell_column(lng: f64) -> i64 {
    ((lng.clamp(-180.0, 180.0) + 180.0) * CELLS_PER_DEGREE).floor() as i64
}

/// The grid cell of a position: the arithmetic of the database's generated column, to the bit.
pub fn cell_of(lat: f64, lng: f64) -> i64 {
    cell_row(lat) * CELL_ROW + cell_column(lng)
}

/// Every cell a latitude/longitude box (as `Position::bounding_box` gives) touches, or `None`
/// when there are more than `max` (a wide circle: the box itself is then the better lookup).
pub fn cells_covering(
    (lat_min, lat_max, lng_min, lng_max): (f64, f64, f64, f64),
    max: usize,
) -> Option<Vec<i64>> {
    let rows = cell_row(lat_min)..=cell_row(lat_max);
    let columns = cell_column(lng_min)..=cell_column(lng_max);
    let count = (rows.end() - rows.start() + 1) * (columns.end() - columns.start() + 1);
    if count > i64::try_from(max).unwrap_or(i64::MAX) {
        return None;
    }
    Some(
        rows.flat_map(|row| columns.clone().map(move |column| row * CELL_ROW + column))
            .collect(),
    )
}

/// A WGS 84 position, checked to be on the earth.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Position {
    pub lat: f64,
    pub lng: f64,
}

impl Position {
    /// `field` is the argument holding the position (`input.location`); errors name its parts.
    pub fn parse(lat: f64, lng: f64, field: &str) -> Result<Self> {
        if !lat.is_finite() || !(-90.0..=90.0).contains(&lat) {
            return Err(Error::invalid(
                format!("{field}.lat"),
                "must-be-latitude-from-90-to",
            ));
        }
        if !lng.is_finite() || !(-180.0..=180.0).contains(&lng) {
            return Err(Error::invalid(
                format!("{field}.lng"),
                "must-be-longitude-from-180-to",
            ));
        }
        Ok(Self { lat, lng })
    }

    /// A phone's fix: its position and, when the phone reports one, the accuracy in metres (a
    /// finite distance, never negative). Errors name `field.lat`, `field.lng`, `field.accuracyM`.
    pub fn parse_fix(
        lat: f64,
        lng: f64,
        accuracy_m: Option<f64>,
        field: &str,
    ) -> Result<(Self, Option<f64>)> {
        if accuracy_m.is_some_and(|a| !a.is_finite() || a < 0.0) {
            return Err(Error::invalid(
                format!("{field}.accuracyM"),
                "must-be-distance-in-metres",
            ));
        }
        Ok((Self::parse(lat, lng, field)?, accuracy_m))
    }

    /// Great-circle (haversine) distance in metres.
    pub fn distance_m(&self, other: &Position) -> f64 {
        let (lat1, lat2) = (self.lat.to_radians(), other.lat.to_radians());
        let dlat = lat2 - lat1;
        let dlng = (other.lng - self.lng).to_radians();
        let a = (dlat / 2.0).sin().powi(2) + lat1.cos() * lat2.cos() * (dlng / 2.0).sin().powi(2);
        2.0 * EARTH_RADIUS_M * a.sqrt().asin()
    }

    /// The distance on the flat local map around `self` (degrees of longitude shortened by the
    /// cosine of `self`'s latitude), in metres: what a database can compute and order by with
    /// plain arithmetic. Within 50 km of `self` it stays within 0.5 % of `distance_m`.
    pub fn flat_distance_m(&self, other: &Position) -> f64 {
        let dlat = other.lat - self.lat;
        let dlng = (other.lng - self.lng) * self.lat.to_radians().cos();
        (dlat * dlat + dlng * dlng).sqrt() * METRES_PER_DEGREE
    }

    /// A latitude/longitude box containing every point within `radius_m` (for an index lookup
    /// before the exact distance check).
    pub fn bounding_box(&self, radius_m: f64) -> (f64, f64, f64, f64) {
        let dlat = (radius_m / EARTH_RADIUS_M).to_degrees();
        let cos = self.lat.to_radians().cos().max(0.01);
        let dlng = (radius_m / (EARTH_RADIUS_M * cos)).to_degrees();
        (
            self.lat - dlat,
            self.lat + dlat,
            self.lng - dlng,
            self.lng + dlng,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flat_distance_stays_within_half_a_percent_of_the_great_circle_within_50_km() {
        for centre in [(23.03, 113.12), (45.75, 126.63), (-33.87, 151.21)] {
            let centre = Position::parse(centre.0, centre.1, "c").unwrap();
            for step in 0..360 {
                let bearing = f64::from(step).to_radians();
                for km in [0.5, 5.0, 20.0, 50.0] {
                    let dlat = km * 1000.0 / METRES_PER_DEGREE * bearing.cos();
                    let dlng = km * 1000.0 / METRES_PER_DEGREE * bearing.sin()
                        / centre.lat.to_radians().cos();
                    let other = Position::parse(centre.lat + dlat, centre.lng + dlng, "o").unwrap();
                    let (flat, exact) = (centre.flat_distance_m(&other), centre.distance_m(&other));
                    assert!((flat - exact).abs() <= exact * 0.005, "{flat} vs {exact}");
                }
            }
        }
    }

    #[test]
    fn the_cells_covering_a_circle_s_box_hold_every_point_in_it() {
        let centre = Position {
            lat: 22.805,
            lng: 113.293,
        };
        let bounds = centre.bounding_box(5_000.0);
        let cells = cells_covering(bounds, 400).unwrap();
        assert!(cells.len() <= 36, "{}", cells.len());
        let (lat_min, lat_max, lng_min, lng_max) = bounds;
        for i in 0..=20 {
            for j in 0..=20 {
                let lat = lat_min + (lat_max - lat_min) * f64::from(i) / 20.0;
                let lng = lng_min + (lng_max - lng_min) * f64::from(j) / 20.0;
                assert!(cells.contains(&cell_of(lat, lng)), "{lat} {lng}");
            }
        }
        // Neighbouring cells differ; a wide circle is left to the box.
        assert_ne!(cell_of(22.805, 113.293), cell_of(22.805, 113.313));
        assert_ne!(cell_of(22.805, 113.293), cell_of(22.825, 113.293));
        assert!(cells_covering(centre.bounding_box(50_000.0), 400).is_none());
        assert_eq!(cell_of(-90.0, -180.0), 0);
        assert_eq!(cell_of(90.0, 180.0), 9_000 * 100_000 + 18_000);
    }

    #[test]
    fn a_fix_carries_a_finite_non_negative_accuracy() {
        assert!(Position::parse_fix(23.0, 113.1, Some(12.5), "position").is_ok());
        assert!(Position::parse_fix(23.0, 113.1, None, "position").is_ok());
        for bad in [-1.0, f64::NAN, f64::INFINITY] {
            let error = Position::parse_fix(23.0, 113.1, Some(bad), "position").unwrap_err();
            assert!(
                matches!(error, Error::InvalidInput { ref field, .. } if field == "position.accuracyM")
            );
        }
    }

    #[test]
    fn distances_match_known_values() {
        let zumiao = Position {
            lat: 23.0290,
            lng: 113.1140,
        };
        let nearby = Position {
            lat: 23.0299,
            lng: 113.1140,
        };
        let d = zumiao.distance_m(&nearby);
        assert!((d - 100.0).abs() < 1.0, "{d}");
        let guangzhou = Position {
            lat: 23.1291,
            lng: 113.2644,
        };
        let far = zumiao.distance_m(&guangzhou);
        assert!((18_900.0..19_100.0).contains(&far), "{far}");
    }

    #[test]
    fn out_of_range_coordinates_are_refused_by_name() {
        let error = Position::parse(91.0, 0.0, "location").unwrap_err();
        assert!(matches!(error, Error::InvalidInput { ref field, .. } if field == "location.lat"));
        assert!(Position::parse(0.0, -181.0, "p").is_err());
        assert!(Position::parse(f64::NAN, 0.0, "p").is_err());
    }

    #[test]
    fn the_bounding_box_contains_the_circle() {
        let centre = Position {
            lat: 23.0,
            lng: 113.0,
        };
        let (lat_min, lat_max, lng_min, lng_max) = centre.bounding_box(1000.0);
        let east = Position {
            lat: 23.0,
            lng: lng_max,
        };
        assert!(centre.distance_m(&east) >= 999.0);
        assert!(lat_min < 23.0 && lat_max > 23.0 && lng_min < 113.0);
    }
}
