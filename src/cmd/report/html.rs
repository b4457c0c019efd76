//! A report as one self-contained HTML page: the tables of the text report and three inline
//! SVG charts (what happened to each campaign's messages, the top reasons, the top domains).
//! No script, no external file, no web font: it opens the same from a mail attachment or
//! a file share as in a browser.

use std::fmt::Write as _;
use std::io::Write;

use anyhow::Result;

use super::render::CAMPAIGN_ROWS;
use super::summary::{Alert, Campaign, Report};

/// Reads one count from a campaign.
type CountOf = fn(&Campaign) -> u64;

/// The parts of a campaign's bar, in order, with their colours (colour-blind-safe choices
/// for the main ones: blue, orange, vermillion, purple).
pub const SEGMENTS: &[(&str, &str, CountOf)] = &[
    ("delivered", "#0072b2", |c| c.delivered.max(c.read)),
    ("no feedback", "#bbbbbb", |c| c.no_feedback),
    ("autoreply", "#56b4e9", |c| c.autoreply),
    ("delay", "#f0e442", |c| c.delay),
    ("soft", "#e69f00", |c| c.soft),
    ("hard", "#d55e00", |c| c.hard),
    ("block", "#7b3294", |c| c.block),
    ("unsubscribe", "#999933", |c| c.unsubscribe),
    ("complaint", "#882255", |c| c.complaint),
    ("rejected at send time", "#444444", |c| c.rejected),
];

const WIDTH: f64 = 720.0;
const LABEL: f64 = 180.0;
const BAR: f64 = 22.0;
const GAP: f64 = 8.0;

pub fn write(report: &Report, out: &mut dyn Write) -> Result<()> {
    let mut page = String::new();
    page.push_str(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n\
         <title>bouncekit report</title>\n<style>\n\
         body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2em auto;max-width:60em;color:#222;padding:0 1em}\n\
         h1{font-size:1.6em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ddd}\n\
         table{border-collapse:collapse;margin:.5em 0}td,th{padding:.25em .7em;border-bottom:1px solid #eee;text-align:right}\n\
         td:first-child,th:first-child{text-align:left}.alert{color:#b00020}\n\
         .legend span{display:inline-block;margin-right:1em}.legend i{display:inline-block;width:.9em;height:.9em;margin-right:.3em;vertical-align:-.1em}\n\
         svg text{font-size:12px;fill:#222}\n</style></head><body>\n<h1>bouncekit report</h1>\n",
    );
    page.push_str("<h2>What happened to each campaign's messages</h2>\n");
    page.push_str(&campaign_chart(&report.campaigns));
    page.push_str("<p class=\"legend\">");
    for (name, colour, _) in SEGMENTS {
        let _ = write!(
            page,
            "<span><i style=\"background:{colour}\"></i>{name}</span>"
        );
    }
    page.push_str("</p>\n");
    page.push_str(&campaign_table(report));
    if !report.reasons.is_empty() {
        page.push_str("<h2>Top reasons</h2>\n");
        let bars: Vec<(String, u64)> = report
            .reasons
            .iter()
            .map(|r| (r.name.clone(), r.count))
            .collect();
        page.push_str(&bar_chart(&bars, "#d55e00"));
    }
    if !report.domains.is_empty() {
        page.push_str("<h2>Top recipient domains (messages sent)</h2>\n");
        let bars: Vec<(String, u64)> = report
            .domains
            .iter()
            .map(|d| (d.domain.clone(), d.sent))
            .collect();
        page.push_str(&bar_chart(&bars, "#0072b2"));
    }
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
        if !alerts.is_empty() {
            let _ = writeln!(
                page,
                "<h2 class=\"alert\">{title}</h2>\n<p>Your server's reputation or set-up, not your subscribers' addresses: these never count against an address.</p>"
            );
            page.push_str(&alert_table(alerts));
        }
    }
    if let Some(store) = &report.store {
        page.push_str("<h2>Store: addresses per state</h2>\n<table><tr><th>state</th><th>addresses</th></tr>\n");
        for c in store {
            let _ = writeln!(
                page,
                "<tr><td>{}</td><td>{}</td></tr>",
                escape(&c.name),
                c.count
            );
        }
        page.push_str("</table>\n");
    }
    page.push_str("</body></html>\n");
    out.write_all(page.as_bytes())?;
    Ok(())
}

/// One stacked bar per campaign, each part a share of the campaign's messages.
fn campaign_chart(campaigns: &[Campaign]) -> String {
    let height = campaigns.len() as f64 * (BAR + GAP) + GAP;
    let mut svg = svg_open(height, "messages of each campaign by what came back");
    for (row, c) in campaigns.iter().enumerate() {
        let y = GAP + row as f64 * (BAR + GAP);
        label(&mut svg, y, &c.campaign);
        let total: u64 = SEGMENTS.iter().map(|(_, _, f)| f(c)).sum();
        if total == 0 {
            continue;
        }
        let mut x = LABEL;
        for (name, colour, value) in SEGMENTS {
            let n = value(c);
            if n == 0 {
                continue;
            }
            let w = (WIDTH - LABEL - 10.0) * n as f64 / total as f64;
            let _ = write!(
                svg,
                "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{BAR}\" fill=\"{colour}\"><title>{name}: {n}</title></rect>"
            );
            x += w;
        }
    }
    svg.push_str("</svg>\n");
    svg
}

/// Horizontal bars, longest first as given.
fn bar_chart(bars: &[(String, u64)], colour: &str) -> String {
    let max = bars.iter().map(|(_, n)| *n).max().unwrap_or(0).max(1);
    let height = bars.len() as f64 * (BAR + GAP) + GAP;
    let mut svg = svg_open(height, "bar chart");
    for (row, (name, n)) in bars.iter().enumerate() {
        let y = GAP + row as f64 * (BAR + GAP);
        label(&mut svg, y, name);
        let w = (WIDTH - LABEL - 60.0) * *n as f64 / max as f64;
        let _ = write!(
            svg,
            "<rect x=\"{LABEL}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{BAR}\" fill=\"{colour}\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\">{n}</text>",
            LABEL + w + 6.0,
            y + BAR * 0.7
        );
    }
    svg.push_str("</svg>\n");
    svg
}

fn svg_open(height: f64, title: &str) -> String {
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{height:.0}\" viewBox=\"0 0 {WIDTH} {height:.0}\" role=\"img\"><title>{}</title>",
        escape(title)
    )
}

fn label(svg: &mut String, y: f64, text: &str) {
    let shown: String = text.chars().take(26).collect();
    let _ = write!(
        svg,
        "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
        LABEL - 8.0,
        y + BAR * 0.7,
        escape(&shown)
    );
}

fn campaign_table(report: &Report) -> String {
    let mut t = String::from("<table><tr><th></th>");
    for c in &report.campaigns {
        let _ = write!(t, "<th>{}</th>", escape(&c.campaign));
    }
    t.push_str("</tr>\n");
    for (_, label, value) in CAMPAIGN_ROWS {
        let _ = write!(t, "<tr><td>{label}</td>");
        for c in &report.campaigns {
            let _ = write!(t, "<td>{}</td>", escape(&value(c)));
        }
        t.push_str("</tr>\n");
    }
    t.push_str("</table>\n");
    if report.unmatched_events > 0 {
        let _ = writeln!(
            t,
            "<p>{} reports matched no message of the send logs read.</p>",
            report.unmatched_events
        );
    }
    t
}

fn alert_table(alerts: &[Alert]) -> String {
    let mut t = String::from("<table><tr><th>name</th><th>count</th><th>example</th></tr>\n");
    for a in alerts {
        let _ = writeln!(
            t,
            "<tr><td>{}</td><td>{}</td><td style=\"text-align:left\"><code>{}</code></td></tr>",
            escape(&a.name),
            a.count,
            escape(&a.example)
        );
    }
    t.push_str("</table>\n");
    t
}

/// Text made safe for HTML content and attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_escaped() {
        assert_eq!(
            escape("<b>\"x\" & 'y'"),
            "&lt;b&gt;&quot;x&quot; &amp; &#39;y&#39;"
        );
    }

    #[test]
    fn a_campaign_bar_is_split_by_what_came_back() {
        let c = Campaign {
            campaign: "may".into(),
            sent: 4,
            delivered: 2,
            hard: 1,
            no_feedback: 1,
            ..Campaign::default()
        };
        let svg = campaign_chart(&[c]);
        assert_eq!(svg.matches("<rect").count(), 3);
        assert!(svg.contains("fill=\"#d55e00\"><title>hard: 1</title>"));
    }
}
