//! SVG line charts of the daily figures (plotters).

use std::path::Path;

use plotters::prelude::*;

use crate::simulate::metrics::DayRow;

/// One line: a name and its points.
pub type Series = (String, Vec<(f64, f64)>);

const COLOURS: [RGBColor; 5] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(255, 127, 14),
];

/// A line chart of `series` against days.
pub fn line_chart(
    path: &Path,
    title: &str,
    y_label: &str,
    series: &[Series],
) -> Result<(), String> {
    xy_chart(path, title, "day", y_label, series)
}

/// A line chart of `series` against `x_label`.
pub fn xy_chart(
    path: &Path,
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series],
) -> Result<(), String> {
    let err = |e: &dyn std::fmt::Display| format!("{}: {e}", path.display());
    let (mut x_max, mut y_max) = (1.0f64, 0.0f64);
    for (_, pts) in series {
        for (x, y) in pts {
            x_max = x_max.max(*x);
            y_max = y_max.max(*y);
        }
    }
    let y_max = if y_max <= 0.0 { 1.0 } else { y_max * 1.08 };
    let root = SVGBackend::new(path, (900, 480)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(0.0..x_max, 0.0..y_max)
        .map_err(|e| err(&e))?;
    chart.configure_mesh().x_desc(x_label).y_desc(y_label).draw().map_err(|e| err(&e))?;
    for (i, (name, pts)) in series.iter().enumerate() {
        let colour = COLOURS.get(i % COLOURS.len()).copied().unwrap_or(BLACK);
        chart
            .draw_series(LineSeries::new(pts.iter().copied(), colour.stroke_width(2)))
            .map_err(|e| err(&e))?
            .label(name.as_str())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(2))
            });
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperLeft)
        .draw()
        .map_err(|e| err(&e))?;
    root.present().map_err(|e| err(&e))
}

/// The standard set of charts for a run.
pub fn all(dir: &Path, days: &[DayRow]) -> Result<(), String> {
    let s = |name: &str, get: &dyn Fn(&DayRow) -> f64| -> Series {
        (name.to_owned(), days.iter().map(|d| (d.day as f64, get(d))).collect())
    };
    line_chart(
        &dir.join("swarms.svg"),
        "Swarms and their sizes",
        "swarms / nodes per swarm",
        &[
            s("swarms", &|d| d.swarms as f64),
            s("smallest swarm", &|d| d.size_min as f64),
            s("median swarm", &|d| d.size_median as f64),
            s("largest swarm", &|d| d.size_max as f64),
        ],
    )?;
    line_chart(
        &dir.join("churn.svg"),
        "Nodes joining, leaving and moved between swarms, per day",
        "nodes",
        &[
            s("joined a swarm", &|d| d.joined as f64),
            s("left", &|d| d.left as f64),
            s("moved", &|d| d.moved as f64),
            s("most changes in one block", &|d| d.busiest_block as f64),
        ],
    )?;
    line_chart(
        &dir.join("handover.svg"),
        "Messages copied because swarms changed, per day (millions)",
        "messages (millions)",
        &[s("handover", &|d| d.handover_messages / 1e6)],
    )?;
    line_chart(
        &dir.join("control.svg"),
        "Operator control",
        "share",
        &[
            s("swarms with a one-operator majority", &|d| d.majority_swarm_share),
            s("largest one-operator share of a swarm", &|d| d.largest_swarm_share),
            s("P(one operator holds 2 of 3 hops)", &|d| d.path_two_of_three_any),
            s("P(the big operator holds 2 of 3 hops)", &|d| d.path_two_of_three_big),
            s("the big operator's share of nodes", &|d| d.big_node_share),
        ],
    )?;
    line_chart(
        &dir.join("rewards.svg"),
        "Rewards credited so far, mean per staker (SESH)",
        "SESH",
        &[
            s("per operator", &|d| d.per_operator_sesh),
            s("per contributor", &|d| d.per_contributor_sesh),
        ],
    )?;
    line_chart(
        &dir.join("gini.svg"),
        "Inequality of rewards credited so far (Gini)",
        "Gini coefficient",
        &[s("operators", &|d| d.gini_operators), s("contributors", &|d| d.gini_contributors)],
    )?;
    line_chart(
        &dir.join("obligations.svg"),
        "Failing and decommissioned nodes, and the quorums' decisions per day",
        "nodes",
        &[
            s("failing (end of day)", &|d| d.failing_nodes as f64),
            s("decommissioned (end of day)", &|d| d.decommissioned_nodes as f64),
            s("decommissions", &|d| d.decommissions as f64),
            s("deregistrations", &|d| d.deregistrations as f64),
            s("healthy nodes voted out", &|d| d.wrongful as f64),
        ],
    )
}

/// The share of outages caught within each number of blocks (`caught`: blocks to catch each
/// caught outage, sorted; `outages`: every outage).
pub fn caught_chart(path: &Path, caught: &[u64], outages: usize) -> Result<(), String> {
    let n = outages.max(1) as f64;
    let points: Vec<(f64, f64)> =
        caught.iter().enumerate().map(|(i, blocks)| (*blocks as f64, (i + 1) as f64 / n)).collect();
    xy_chart(
        path,
        "Outages caught (decommissioned or deregistered) within a number of blocks",
        "blocks since the outage began",
        "share of outages",
        &[("caught".to_owned(), points)],
    )
}
