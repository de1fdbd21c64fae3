//! The report page: one self-contained HTML file (inline style and SVG, no script, no external
//! link) made of sections, each with an `id` and a heading.

/// One section of the page.
#[derive(Debug, Clone)]
pub struct Section {
    /// The section's `id` (also its anchor in the table of contents).
    pub id: String,
    /// Its heading.
    pub heading: String,
    /// Its body, HTML (already escaped where it holds text).
    pub body: String,
}

impl Section {
    /// A section with an empty body.
    pub fn new(id: &str, heading: &str) -> Section {
        Section {
            id: id.to_string(),
            heading: heading.to_string(),
            body: String::new(),
        }
    }

    /// Adds a paragraph of plain text.
    pub fn note(&mut self, text: &str) {
        self.body.push_str(&format!("<p class=\"note\">{}</p>\n", escape(text)));
    }

    /// Adds a figure: an inline SVG, in a box that scrolls sideways when the drawing is wide.
    pub fn figure(&mut self, svg: &str) {
        self.body.push_str("<div class=\"figure\">");
        self.body.push_str(svg.trim());
        self.body.push_str("</div>\n");
    }

    /// Adds a table with a header row.
    pub fn table(&mut self, headers: &[&str], rows: &[Vec<String>]) {
        self.body.push_str(&table(headers, rows));
    }
}

/// Escapes text for HTML content and attribute values.
pub fn escape(text: &str) -> String {
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

/// A table with a header row; cells are plain text.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut s = String::from("<table>\n<tr>");
    for h in headers {
        s.push_str(&format!("<th>{}</th>", escape(h)));
    }
    s.push_str("</tr>\n");
    for row in rows {
        s.push_str("<tr>");
        for cell in row {
            s.push_str(&format!("<td>{}</td>", escape(cell)));
        }
        s.push_str("</tr>\n");
    }
    s.push_str("</table>\n");
    s
}

/// The page's style sheet (inline; no fonts or images are fetched).
const STYLE: &str = "body{font-family:sans-serif;margin:24px auto;max-width:1100px;color:#222}\
h1{font-size:24px}h2{font-size:19px;border-bottom:1px solid #ccc;padding-top:12px}\
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left;font-size:13px}\
th{background:#f2f2f2}.figure{overflow-x:auto;margin:10px 0}.note{color:#555;font-size:14px}\
nav a{margin-right:12px}";

/// The whole page: a title, a table of contents and the sections.
pub fn page(title: &str, sections: &[Section]) -> String {
    let mut s = String::from("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    s.push_str(&format!(
        "<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        escape(title)
    ));
    s.push_str(&format!("<h1>{}</h1>\n<nav>", escape(title)));
    for sec in sections {
        s.push_str(&format!(
            "<a href=\"#{}\">{}</a>",
            escape(&sec.id),
            escape(&sec.heading)
        ));
    }
    s.push_str("</nav>\n");
    for sec in sections {
        s.push_str(&format!(
            "<section id=\"{}\">\n<h2>{}</h2>\n{}</section>\n",
            escape(&sec.id),
            escape(&sec.heading),
            sec.body
        ));
    }
    s.push_str("</body>\n</html>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_hold_their_sections_escaped() {
        let mut sec = Section::new("summary", "Model <summary>");
        sec.table(&["name", "value"], &[vec!["a&b".into(), "1".into()]]);
        sec.note("no \"history\"");
        sec.figure("<svg></svg>\n");
        let html = page("Report", &[sec]);
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(html.contains("<section id=\"summary\">"));
        assert!(html.contains("<h2>Model &lt;summary&gt;</h2>"));
        assert!(html.contains("<td>a&amp;b</td>") && html.contains("no &quot;history&quot;"));
        assert!(html.contains("<div class=\"figure\"><svg></svg></div>"));
    }
}
