//! A report as text: an aligned table for the terminal, Markdown, CSV (one row per
//! campaign) and JSON (everything). HTML is in `html.rs`.

use std::io::Write;

use anyhow::Result;
use comfy_table::{Cell, Color, ContentArrangement, Table, presets};

use super::summary::{Campaign, Report};

/// Reads one figure of a campaign, as shown.
pub type FigureOf = fn(&Campaign) -> String;

/// The rows of the campaign table: the figure's JSON key (also its CSV column), its label,
/// and how to read it from a campaign as shown.
pub const CAMPAIGN_ROWS: &[(&str, &str, FigureOf)] = &[
    ("sent", "sent", |c| c.sent.to_string()),
    ("rejected", "rejected at send time", |c| {
        c.rejected.to_string()
    }),
    ("deferred", "deferred", |c| c.deferred.to_string()),
    ("skipped", "skipped", |c| c.skipped.to_string()),
    ("unknown_outcome", "outcome unknown", |c| {
        c.unknown_outcome.to_string()
    }),
    ("delivered", "confirmed delivered (DSN)", |c| {
        c.delivered.to_string()
    }),
    ("read", "confirmed read (MDN)", |c| c.read.to_string()),
    ("hard", "hard bounces", |c| c.hard.to_string()),
    ("soft", "soft bounces", |c| c.soft.to_string()),
    ("block", "blocked (sender side)", |c| c.block.to_string()),
    ("delay", "delayed", |c| c.delay.to_string()),
    ("autoreply", "autoreplies", |c| c.autoreply.to_string()),
    ("unsubscribe", "unsubscribes", |c| c.unsubscribe.to_string()),
    ("complaint", "complaints", |c| c.complaint.to_string()),
    ("no_feedback", "no feedback", |c| c.no_feedback.to_string()),
    ("bounce_rate", "bounce rate", |c| percent(c.bounce_rate)),
    ("deliverability", "deliverability", |c| {
        percent(c.deliverability)
    }),
];

/// A rate as a percentage with one decimal, or "-" when nothing was sent.
pub fn percent(rate: Option<f64>) -> String {
    rate.map_or_else(|| "-".into(), |r| format!("{:.1}%", r * 100.0))
}

/// A bounce rate above this is worth a colour: mailbox providers start to distrust a sender
/// at a few percent.
const HIGH_BOUNCE_RATE: f64 = 0.02;

/// One table of a report, shared by the terminal table and Markdown.
struct Section {
    title: String,
    header: Vec<String>,
    /// Per column: figures (aligned right) or text (aligned left).
    figures: Vec<bool>,
    rows: Vec<Vec<String>>,
}

/// The sections of a report, in order.
fn sections(report: &Report) -> Vec<Section> {
    let mut out = Vec::new();
    let mut header = vec!["".to_string()];
    header.extend(report.campaigns.iter().map(|c| c.campaign.clone()));
    let rows = CAMPAIGN_ROWS
        .iter()
        .map(|(_, label, value)| {
            let mut row = vec![label.to_string()];
            row.extend(report.campaigns.iter().map(value));
            row
        })
        .collect();
    let mut figures = vec![true; header.len()];
    figures[0] = false;
    out.push(Section {
        title: "Campaigns".to_string(),
        header,
        figures,
        rows,
    });
    out.push(Section {
        title: "Top reasons".into(),
        header: vec!["reason".into(), "count".into()],
        figures: vec![false, true],
        rows: report
            .reasons
            .iter()
            .map(|r| vec![r.name.clone(), r.count.to_string()])
            .collect(),
    });
    out.push(Section {
        title: "Top recipient domains".into(),
        header: [
            "domain",
            "sent",
            "delivered",
            "hard",
            "soft",
            "block",
            "complaint",
        ]
        .map(String::from)
        .to_vec(),
        figures: vec![false, true, true, true, true, true, true],
        rows: report
            .domains
            .iter()
            .map(|d| {
                vec![
                    d.domain.clone(),
                    d.sent.to_string(),
                    d.delivered.to_string(),
                    d.hard.to_string(),
                    d.soft.to_string(),
                    d.block.to_string(),
                    d.complaint.to_string(),
                ]
            })
            .collect(),
    });
    for (title, alerts) in [
        (
            "Sender-side blocks by blocklist or provider",
            &report.blocks_by_list,
        ),
        (
            "Sender-side blocks by receiving domain",
            &report.blocks_by_domain,
        ),
    ] {
        out.push(Section {
            title: title.to_string(),
            header: ["name", "count", "example"].map(String::from).to_vec(),
            figures: vec![false, true, false],
            rows: alerts
                .iter()
                .map(|a| vec![a.name.clone(), a.count.to_string(), a.example.clone()])
                .collect(),
        });
    }
    if let Some(store) = &report.store {
        out.push(Section {
            title: "Store: addresses per state".into(),
            header: vec!["state".into(), "addresses".into()],
            figures: vec![false, true],
            rows: store
                .iter()
                .map(|c| vec![c.name.clone(), c.count.to_string()])
                .collect(),
        });
    }
    out
}

/// The width of a table when the terminal's is unknown (a pipe, a file).
const DEFAULT_WIDTH: u16 = 120;

/// Narrower than this, a terminal's width is taken as unknown: a pseudo-terminal nobody sized
/// (under `script`, `stty size` says `0 0`) would squeeze every column to one character.
const MIN_WIDTH: u16 = 40;

/// The width of the terminal on standard output, if it is one and says.
pub fn terminal_width() -> Option<u16> {
    // comfy-table asks the terminal itself (through crossterm), once stdout is one.
    Table::new().width()
}

/// The width the tables get, from the terminal's when it is usable.
fn table_width(terminal: Option<u16>) -> u16 {
    terminal
        .filter(|&w| w >= MIN_WIDTH)
        .unwrap_or(DEFAULT_WIDTH)
}

/// The aligned table for a terminal of `terminal` columns (None: unknown); `colour` marks
/// high bounce rates and the alerts.
pub fn table(
    report: &Report,
    colour: bool,
    terminal: Option<u16>,
    out: &mut dyn Write,
) -> Result<()> {
    let width = table_width(terminal);
    for Section {
        title,
        header,
        rows,
        ..
    } in sections(report)
    {
        if rows.is_empty() {
            continue;
        }
        let alert = title.starts_with("Sender-side");
        let heading = if colour && alert {
            format!("\x1b[1;31m{title}\x1b[0m (your server's reputation, not your subscribers)")
        } else if colour {
            format!("\x1b[1m{title}\x1b[0m")
        } else if alert {
            format!("{title} (your server's reputation, not your subscribers)")
        } else {
            title.clone()
        };
        writeln!(out, "{heading}")?;
        let mut t = Table::new();
        t.load_style(presets::UTF8_FULL_CONDENSED)
            .set_content_arrangement(ContentArrangement::Dynamic)
            .set_header(header);
        // Long example lines wrap within the terminal's width, with or without colour.
        t.set_width(width);
        if colour {
            t.enforce_styling();
        } else {
            t.force_no_tty();
        }
        for row in rows {
            let high = title == "Campaigns" && row[0] == "bounce rate";
            t.add_row(row.into_iter().enumerate().map(|(i, cell)| {
                let c = Cell::new(&cell);
                let too_high = high
                    && i > 0
                    && cell
                        .trim_end_matches('%')
                        .parse::<f64>()
                        .is_ok_and(|p| p / 100.0 > HIGH_BOUNCE_RATE);
                if colour && too_high {
                    c.fg(Color::Red)
                } else {
                    c
                }
            }));
        }
        writeln!(out, "{t}")?;
        if title == "Campaigns" && report.unmatched_events > 0 {
            writeln!(
                out,
                "({} reports matched no message of the send logs read)",
                report.unmatched_events
            )?;
        }
        writeln!(out)?;
    }
    Ok(())
}

/// GitHub-flavoured Markdown tables.
pub fn markdown(report: &Report, out: &mut dyn Write) -> Result<()> {
    writeln!(out, "# bouncekit report\n")?;
    for Section {
        title,
        header,
        figures,
        rows,
    } in sections(report)
    {
        writeln!(out, "## {title}\n")?;
        if rows.is_empty() {
            writeln!(out, "None.\n")?;
            continue;
        }
        let cell = |s: &str| s.replace('|', "\\|").replace('\n', " ");
        writeln!(
            out,
            "| {} |",
            header
                .iter()
                .map(|h| cell(h))
                .collect::<Vec<_>>()
                .join(" | ")
        )?;
        let rule: Vec<&str> = figures
            .iter()
            .map(|&figure| if figure { "---:" } else { "---" })
            .collect();
        writeln!(out, "| {} |", rule.join(" | "))?;
        for row in rows {
            writeln!(
                out,
                "| {} |",
                row.iter().map(|c| cell(c)).collect::<Vec<_>>().join(" | ")
            )?;
        }
        writeln!(out)?;
    }
    Ok(())
}

/// One CSV row per campaign, its columns named as the JSON keys.
pub fn csv(report: &Report, out: &mut dyn Write) -> Result<()> {
    let mut w = csv::Writer::from_writer(out);
    let mut header = vec!["campaign"];
    header.extend(CAMPAIGN_ROWS.iter().map(|(key, _, _)| *key));
    w.write_record(&header)?;
    for c in &report.campaigns {
        let mut row = vec![c.campaign.clone()];
        row.extend(CAMPAIGN_ROWS.iter().map(|(key, _, value)| {
            // Rates as fractions, for spreadsheets to format.
            match *key {
                "bounce_rate" => c.bounce_rate.map_or(String::new(), |r| format!("{r:.4}")),
                "deliverability" => c
                    .deliverability
                    .map_or(String::new(), |r| format!("{r:.4}")),
                _ => value(c),
            }
        }));
        w.write_record(row.iter().map(|cell| crate::io::spreadsheet_safe(cell)))?;
    }
    w.flush()?;
    Ok(())
}

/// Everything, as one JSON document.
pub fn json(report: &Report, out: &mut dyn Write) -> Result<()> {
    serde_json::to_writer_pretty(&mut *out, report)?;
    writeln!(out)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression: the CSV columns were the labels (`confirmed_delivered_(DSN)`), which
    /// matched nothing else a program reads.
    #[test]
    fn csv_columns_are_the_json_keys() {
        let report = Report {
            campaigns: vec![Campaign {
                campaign: "may".into(),
                sent: 4,
                hard: 1,
                bounce_rate: Some(0.25),
                deliverability: Some(0.75),
                ..Campaign::default()
            }],
            ..Report::default()
        };
        let json = serde_json::to_value(&report.campaigns[0]).unwrap();
        let keys: Vec<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let mut out = Vec::new();
        csv(&report, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let mut lines = text.lines();
        assert_eq!(lines.next().unwrap(), keys.join(","));
        let values: Vec<&str> = lines.next().unwrap().split(',').collect();
        let value = |key| values[keys.iter().position(|k| *k == key).unwrap()];
        assert_eq!(
            (value("sent"), value("hard"), value("bounce_rate")),
            ("4", "1", "0.2500")
        );
    }

    #[test]
    fn markdown_aligns_figures_right_and_text_left() {
        let report = Report {
            blocks_by_list: vec![super::super::summary::Alert {
                name: "Spamhaus".into(),
                count: 2,
                example: "550 5.7.1 blocked using zen.spamhaus.org".into(),
            }],
            ..Report::default()
        };
        let mut out = Vec::new();
        markdown(&report, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let alerts = text
            .split("## Sender-side blocks by blocklist or provider")
            .nth(1)
            .unwrap();
        assert!(
            alerts.contains("| name | count | example |\n| --- | ---: | --- |\n"),
            "{text}"
        );
    }

    #[test]
    fn a_terminal_too_narrow_to_be_true_gets_the_default_width() {
        assert_eq!(table_width(None), DEFAULT_WIDTH);
        // Regression: `script` gives a pseudo-terminal of 0 columns; every column of every
        // table was one character wide.
        assert_eq!(table_width(Some(0)), DEFAULT_WIDTH);
        assert_eq!(table_width(Some(MIN_WIDTH - 1)), DEFAULT_WIDTH);
        assert_eq!(table_width(Some(MIN_WIDTH)), MIN_WIDTH);
        assert_eq!(table_width(Some(80)), 80);
        assert_eq!(table_width(Some(200)), 200);
    }

    #[test]
    fn tables_fit_the_width_they_are_given() {
        let report = Report {
            blocks_by_list: vec![super::super::summary::Alert {
                name: "Spamhaus".into(),
                count: 1,
                example: "550 5.7.1 Service unavailable; client [192.0.2.1] blocked using \
                          zen.spamhaus.org; see https://www.spamhaus.org/query/ip/192.0.2.1 \
                          for why, and how to be removed from the list"
                    .into(),
            }],
            ..Report::default()
        };
        for (terminal, width) in [(Some(0), 120), (Some(60), 60), (Some(100), 100)] {
            let mut out = Vec::new();
            table(&report, false, terminal, &mut out).unwrap();
            let text = String::from_utf8(out).unwrap();
            let widest = text
                .lines()
                .filter(|l| l.starts_with('│'))
                .map(|l| l.chars().count())
                .max()
                .unwrap();
            assert!(widest <= width, "{widest} > {width}:\n{text}");
            assert!(widest > width / 2, "squeezed to {widest}:\n{text}");
            assert!(text.contains("Spamhaus"), "{text}");
        }
    }
}
