//! Charts drawn on the server as inline SVG: no JavaScript, no `style` attributes (the CSP has
//! no 'unsafe-inline' for styles), colours and line styles from CSS classes in selfcare.css.
//!
//! The SVG holds shapes only. It is stretched to the width of its box
//! (`preserveAspectRatio="none"`, strokes kept thin with `vector-effect`), and every text — the
//! scale, the first and last dates, the legend — is HTML around it, so it stays readable on a
//! phone and on a desktop alike. Each bar has a `<title>` (a tooltip) and each chart a title
//! and a description for screen readers; the same figures are in the tables below the charts.

use askama::Template;

/// Height of the drawing in SVG units; bars are `SLOT` units apart.
const HEIGHT: f64 = 100.0;
const SLOT: f64 = 10.0;
const BAR: f64 = 8.0;

/// One bar, possibly stacked: values bottom to top, each with its CSS class.
#[derive(Clone, Debug)]
pub struct Column {
    pub label: String,
    pub parts: Vec<(f64, &'static str)>,
    /// The tooltip.
    pub tip: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Rect {
    pub x: String,
    pub y: String,
    pub w: String,
    pub h: String,
    pub class: &'static str,
    pub tip: String,
}

/// A column chart with a "nice" scale from 0 and an optional target line.
#[derive(Template)]
#[template(path = "charts/columns.svg")]
pub struct ColumnChart {
    pub id: String,
    pub title: String,
    pub desc: String,
    pub width: String,
    pub rects: Vec<Rect>,
    /// The target line's height in SVG units, when there is one and it fits.
    pub target_y: Option<String>,
    /// The top of the scale and its half, for the HTML labels at 100 % and 50 %.
    pub scale_max: f64,
    pub first_label: String,
    pub last_label: String,
}

fn num(v: f64) -> String {
    let r = (v * 100.0).round() / 100.0;
    if r == r.trunc() {
        format!("{}", r as i64)
    } else {
        format!("{r}")
    }
}

/// The smallest 1, 2 or 5 × 10ⁿ at or above `v` (at least 1).
pub fn nice_ceiling(v: f64) -> f64 {
    if v <= 1.0 {
        return 1.0;
    }
    let mag = 10_f64.powf(v.log10().floor());
    for step in [1.0, 2.0, 5.0, 10.0] {
        if step * mag >= v - 1e-9 {
            return step * mag;
        }
    }
    10.0 * mag
}

impl ColumnChart {
    pub fn new(
        id: &str,
        title: String,
        desc: String,
        columns: &[Column],
        target: Option<f64>,
    ) -> ColumnChart {
        let top = columns
            .iter()
            .map(|c| c.parts.iter().map(|p| p.0.max(0.0)).sum::<f64>())
            .fold(0.0, f64::max)
            .max(target.unwrap_or(0.0));
        let scale_max = nice_ceiling(top);
        let mut rects = Vec::new();
        for (i, col) in columns.iter().enumerate() {
            let x = i as f64 * SLOT + (SLOT - BAR) / 2.0;
            let mut base = 0.0;
            for (value, class) in &col.parts {
                let h = value.max(0.0) / scale_max * HEIGHT;
                if h > 0.0 {
                    rects.push(Rect {
                        x: num(x),
                        y: num(HEIGHT - base - h),
                        w: num(BAR),
                        h: num(h),
                        class,
                        tip: col.tip.clone(),
                    });
                }
                base += h;
            }
        }
        ColumnChart {
            id: id.to_string(),
            title,
            desc,
            width: num((columns.len().max(1)) as f64 * SLOT),
            rects,
            target_y: target
                .filter(|t| *t > 0.0)
                .map(|t| num(HEIGHT - t / scale_max * HEIGHT)),
            scale_max,
            first_label: columns.first().map(|c| c.label.clone()).unwrap_or_default(),
            last_label: columns.last().map(|c| c.label.clone()).unwrap_or_default(),
        }
    }

    pub fn max_label(&self) -> String {
        num(self.scale_max)
    }

    pub fn half_label(&self) -> String {
        num(self.scale_max / 2.0)
    }

    pub fn svg(&self) -> String {
        self.render().unwrap_or_default()
    }
}

/// One horizontal bar of parts laid end to end, scaled against `scale` (the larger of the
/// bars it is compared with), for "calls by result".
#[derive(Template)]
#[template(path = "charts/strip.svg")]
pub struct StripChart {
    pub title: String,
    pub rects: Vec<Rect>,
}

impl StripChart {
    pub fn new(title: String, parts: &[(f64, &'static str, String)], scale: f64) -> StripChart {
        let scale = scale.max(1.0);
        let mut x = 0.0;
        let mut rects = Vec::new();
        for (value, class, tip) in parts {
            let w = value.max(0.0) / scale * 1000.0;
            if w > 0.0 {
                rects.push(Rect {
                    x: num(x),
                    y: "0".into(),
                    w: num(w),
                    h: "10".into(),
                    class,
                    tip: tip.clone(),
                });
            }
            x += w;
        }
        StripChart { title, rects }
    }

    pub fn svg(&self) -> String {
        self.render().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scales_are_round_numbers() {
        assert_eq!(nice_ceiling(0.0), 1.0);
        assert_eq!(nice_ceiling(3.0), 5.0);
        assert_eq!(nice_ceiling(10.0), 10.0);
        assert_eq!(nice_ceiling(11.0), 20.0);
        assert_eq!(nice_ceiling(480.0), 500.0);
        assert_eq!(nice_ceiling(501.0), 1000.0);
    }

    #[test]
    fn stacked_columns_fill_from_the_bottom() {
        let cols = vec![
            Column {
                label: "a".into(),
                parts: vec![(6.0, "ok"), (4.0, "miss")],
                tip: "a: 10".into(),
            },
            Column {
                label: "b".into(),
                parts: vec![(0.0, "ok"), (0.0, "miss")],
                tip: "b: 0".into(),
            },
        ];
        let c = ColumnChart::new("c", "T".into(), "D".into(), &cols, Some(5.0));
        assert_eq!(c.scale_max, 10.0);
        assert_eq!(c.width, "20");
        assert_eq!(c.rects.len(), 2, "empty parts draw nothing");
        assert_eq!((c.rects[0].y.as_str(), c.rects[0].h.as_str()), ("40", "60"));
        assert_eq!((c.rects[1].y.as_str(), c.rects[1].h.as_str()), ("0", "40"));
        assert_eq!(c.target_y.as_deref(), Some("50"));
        assert_eq!((c.first_label.as_str(), c.last_label.as_str()), ("a", "b"));
        let svg = c.svg();
        assert!(
            svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""),
            "{svg}"
        );
        assert!(!svg.contains("style="));
    }

    #[test]
    fn text_in_charts_is_escaped() {
        let s = StripChart::new("<&\">".into(), &[(1.0, "ok", "a<b".into())], 2.0);
        let svg = s.svg();
        assert!(svg.contains("<title>&#60;&#38;&#34;&#62;</title>"), "{svg}");
        assert!(svg.contains("a&#60;b"));
        assert!(svg.contains("width=\"500\""));
    }
}
