//! SVG charts: a dashboard of panels over run time, and x–y charts for benchmark sweeps.

use std::path::Path;

use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

/// One named line of points.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Legend text.
    pub name: String,
    /// (x, y) points in x order.
    pub points: Vec<(f64, f64)>,
}

impl Series {
    /// A series from points.
    pub fn new(name: impl Into<String>, points: Vec<(f64, f64)>) -> Self {
        Self {
            name: name.into(),
            points,
        }
    }
}

/// One chart of a dashboard.
#[derive(Debug, Clone, PartialEq)]
pub struct Panel {
    /// Panel title.
    pub title: String,
    /// Y axis label.
    pub y_label: String,
    /// The lines.
    pub series: Vec<Series>,
}

impl Panel {
    /// A panel.
    pub fn new(title: impl Into<String>, y_label: impl Into<String>, series: Vec<Series>) -> Self {
        Self {
            title: title.into(),
            y_label: y_label.into(),
            series,
        }
    }
}

/// Axis scales of an x–y chart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scales {
    /// Logarithmic x.
    pub log_x: bool,
    /// Logarithmic y.
    pub log_y: bool,
}

const WIDTH: u32 = 1400;
const PANEL_HEIGHT: u32 = 300;

fn color(index: usize) -> RGBColor {
    const COLORS: [RGBColor; 8] = [
        RGBColor(31, 119, 180),
        RGBColor(255, 127, 14),
        RGBColor(44, 160, 44),
        RGBColor(214, 39, 40),
        RGBColor(148, 103, 189),
        RGBColor(140, 86, 75),
        RGBColor(227, 119, 194),
        RGBColor(127, 127, 127),
    ];
    COLORS[index % COLORS.len()]
}

fn chart_error(error: impl std::fmt::Display) -> anyhow::Error {
    anyhow::anyhow!("drawing chart: {error}")
}

/// Draws `panels` in a grid two wide, x = seconds into the run, into an SVG at `path`.
pub fn dashboard(path: &Path, title: &str, panels: &[Panel]) -> anyhow::Result<()> {
    let rows = panels.len().div_ceil(2).max(1) as u32;
    let root = SVGBackend::new(path, (WIDTH, rows * PANEL_HEIGHT + 50)).into_drawing_area();
    root.fill(&WHITE).map_err(chart_error)?;
    let root = root
        .titled(title, ("sans-serif", 24))
        .map_err(chart_error)?;
    let areas = root.split_evenly((rows as usize, 2));
    for (panel, area) in panels.iter().zip(areas.iter()) {
        draw_panel(area, panel)?;
    }
    root.present().map_err(chart_error)?;
    Ok(())
}

fn bounds(series: &[Series]) -> (f64, f64, f64, f64) {
    let points = series.iter().flat_map(|series| series.points.iter());
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for &(x, y) in points {
        if x.is_finite() && y.is_finite() {
            x0 = x0.min(x);
            x1 = x1.max(x);
            y0 = y0.min(y);
            y1 = y1.max(y);
        }
    }
    if x0 > x1 {
        return (0.0, 1.0, 0.0, 1.0);
    }
    (x0, x1.max(x0 + 1.0), y0, y1.max(y0 + 1e-9))
}

fn draw_panel(area: &DrawingArea<SVGBackend<'_>, Shift>, panel: &Panel) -> anyhow::Result<()> {
    let (x0, x1, _, y1) = bounds(&panel.series);
    let mut chart = ChartBuilder::on(area)
        .caption(&panel.title, ("sans-serif", 18))
        .margin(8)
        .x_label_area_size(30)
        .y_label_area_size(70)
        .build_cartesian_2d(x0..x1, 0.0..if y1 > 0.0 { y1 * 1.1 } else { 1.0 })
        .map_err(chart_error)?;
    chart
        .configure_mesh()
        .x_desc("seconds")
        .y_desc(&panel.y_label)
        .light_line_style(WHITE.mix(0.0))
        .draw()
        .map_err(chart_error)?;
    draw_lines(
        &mut chart,
        &panel.series,
        Scales {
            log_x: false,
            log_y: false,
        },
    )?;
    Ok(())
}

type Chart<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

fn draw_lines<'a, 'b: 'a>(
    chart: &mut Chart<'a, 'b>,
    series: &[Series],
    log: Scales,
) -> anyhow::Result<()> {
    let place = |(x, y): (f64, f64)| (scale(x, log.log_x), scale(y, log.log_y));
    for (index, line) in series.iter().enumerate() {
        let style = color(index);
        chart
            .draw_series(LineSeries::new(
                line.points.iter().copied().map(place),
                style.stroke_width(2),
            ))
            .map_err(chart_error)?
            .label(line.name.clone())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 16, y)], style.stroke_width(2))
            });
        if line.points.len() <= 12 {
            chart
                .draw_series(
                    line.points
                        .iter()
                        .map(|&point| Circle::new(place(point), 4, style.filled())),
                )
                .map_err(chart_error)?;
        }
    }
    if !series.is_empty() {
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .position(SeriesLabelPosition::UpperLeft)
            .draw()
            .map_err(chart_error)?;
    }
    Ok(())
}

/// A value on a log axis is drawn at its base-10 logarithm.
fn scale(value: f64, log: bool) -> f64 {
    if log { value.max(1e-9).log10() } else { value }
}

fn axis_label(value: f64, log: bool) -> String {
    let value = if log { 10f64.powf(value) } else { value };
    if value >= 1e6 {
        format!("{}M", trim(value / 1e6))
    } else if value >= 1e3 {
        format!("{}k", trim(value / 1e3))
    } else {
        trim(value)
    }
}

fn trim(value: f64) -> String {
    let text = format!("{value:.2}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// Draws an x–y chart (benchmark sweeps) into an SVG at `path`.
pub fn xy_chart(
    path: &Path,
    title: &str,
    (x_label, y_label): (&str, &str),
    series: &[Series],
    scales: Scales,
) -> anyhow::Result<()> {
    let root = SVGBackend::new(path, (1000, 650)).into_drawing_area();
    root.fill(&WHITE).map_err(chart_error)?;
    let scaled: Vec<Series> = series
        .iter()
        .map(|line| {
            Series::new(
                line.name.clone(),
                line.points
                    .iter()
                    .map(|&(x, y)| (scale(x, scales.log_x), scale(y, scales.log_y)))
                    .collect(),
            )
        })
        .collect();
    let (x0, x1, y0, y1) = bounds(&scaled);
    let pad_x = (x1 - x0) * 0.05;
    let (y_low, y_high) = if scales.log_y {
        (y0.floor(), y1.ceil().max(y0.floor() + 1.0))
    } else {
        (0.0, y1 * 1.1)
    };
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(45)
        .y_label_area_size(80)
        .build_cartesian_2d((x0 - pad_x)..(x1 + pad_x), y_low..y_high)
        .map_err(chart_error)?;
    let x_format = |value: &f64| axis_label(*value, scales.log_x);
    let y_format = |value: &f64| axis_label(*value, scales.log_y);
    chart
        .configure_mesh()
        .x_desc(x_label)
        .y_desc(y_label)
        .x_label_formatter(&x_format)
        .y_label_formatter(&y_format)
        .draw()
        .map_err(chart_error)?;
    draw_lines(&mut chart, series, scales)?;
    root.present().map_err(chart_error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(path: &Path) -> String {
        std::fs::read_to_string(path).unwrap()
    }

    #[test]
    fn draws_a_dashboard() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.svg");
        let panels = vec![
            Panel::new(
                "requests/s",
                "req/s",
                vec![
                    Series::new(
                        "status",
                        (0..30).map(|s| (s as f64, 100.0 + s as f64)).collect(),
                    ),
                    Series::new("join", (0..30).map(|s| (s as f64, 10.0)).collect()),
                ],
            ),
            Panel::new("empty", "nothing", vec![]),
            Panel::new("one point", "x", vec![Series::new("a", vec![(1.0, 1.0)])]),
        ];
        dashboard(&path, "test run", &panels).unwrap();
        let svg = read(&path);
        assert!(svg.starts_with("<svg"));
        assert!(svg.contains("requests/s") && svg.contains("status"));
    }

    #[test]
    fn draws_log_log_sweeps() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sweep.svg");
        let series = vec![
            Series::new("KEYS", vec![(1e3, 300.0), (1e4, 3000.0), (1e6, 3e5)]),
            Series::new("ZRANK", vec![(1e3, 30.0), (1e4, 31.0), (1e6, 35.0)]),
        ];
        let scales = Scales {
            log_x: true,
            log_y: true,
        };
        xy_chart(
            &path,
            "lookups",
            ("users in line", "µs per lookup"),
            &series,
            scales,
        )
        .unwrap();
        assert!(read(&path).contains("ZRANK"));
    }
}
