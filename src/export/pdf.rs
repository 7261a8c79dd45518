//! PDF exports with printpdf: one shared layout for every page's table (A4, landscape when the
//! columns need it): the title with whose list, the filter and the period; an invoice's parties
//! and facts; the table with its header row repeated on every page; totals at the end; "page 3
//! of 12" at the foot of every page.
//!
//! Text is set in DejaVu Sans (`static/fonts/`, compiled in), so Cyrillic, `€` and `№` render;
//! each document embeds only the glyphs it uses (subset with allsorts), and printpdf writes a
//! ToUnicode map, so the text can be searched and copied. A character the font lacks shows as
//! `?`.
//!
//! The layout is made first as plain drawing instructions, then turned into printpdf pages:
//! that way the fonts are subset once the whole text is known. Rendering is CPU work: callers
//! run it off the async threads (`web::block`), and the row count is capped before it starts
//! (`Settings::pdf_max_rows`).

use std::collections::BTreeSet;
use std::sync::LazyLock;

use printpdf::{
    Color, FontId, Greyscale, Line, LinePoint, Op, PaintMode, ParsedFont, PdfDocument,
    PdfFontHandle, PdfPage, PdfSaveOptions, Point, Pt, Rect, TextItem, TextMatrix,
};

use super::{Export, Kind};

static REGULAR_TTF: &[u8] = include_bytes!("../../static/fonts/DejaVuSans.ttf");
static BOLD_TTF: &[u8] = include_bytes!("../../static/fonts/DejaVuSans-Bold.ttf");

// Sizes in points (1/72 inch). A4 is 595.28 × 841.89.
const A4_SHORT: f32 = 595.28;
const A4_LONG: f32 = 841.89;
const MARGIN: f32 = 36.0;
const TOP: f32 = 40.0;
/// The lowest a table row may reach; the footer sits below.
const BOTTOM: f32 = 46.0;
const FOOTER_Y: f32 = 24.0;
const TITLE_SIZE: f32 = 15.0;
const TEXT_SIZE: f32 = 9.0;
const TABLE_SIZE: f32 = 8.0;
const FOOTER_SIZE: f32 = 7.5;
const ROW_H: f32 = 13.0;
const LINE_H: f32 = 12.0;
/// Space between a cell's text and its column's edges.
const PAD: f32 = 4.0;
const GREY_TEXT: f32 = 0.35;
const HEADER_FILL: f32 = 0.88;
const STRIPE_FILL: f32 = 0.96;

/// A face: the parsed font and its advances, for measuring text.
struct Face {
    bytes: &'static [u8],
    font: ParsedFont,
    /// Advance per em of the characters below `FAST`, `NaN` where the font has no glyph.
    fast: Vec<f32>,
    units_per_em: f32,
}

/// Characters measured from a table: Latin, Greek, Cyrillic, punctuation, `€`, `№`.
const FAST: usize = 0x2200;

impl Face {
    fn load(bytes: &'static [u8]) -> Face {
        let font = ParsedFont::from_bytes(bytes, 0, &mut Vec::new())
            .expect("the PDF font shipped in static/fonts parses");
        let units_per_em = f32::from(font.units_per_em.max(1));
        let mut face = Face {
            bytes,
            font,
            fast: Vec::new(),
            units_per_em,
        };
        face.fast = (0..FAST as u32)
            .map(|cp| {
                char::from_u32(cp)
                    .and_then(|c| face.slow_advance(c))
                    .unwrap_or(f32::NAN)
            })
            .collect();
        face
    }

    fn slow_advance(&self, c: char) -> Option<f32> {
        let gid = self.font.lookup_glyph_index(c as u32)?;
        let w = self.font.get_glyph_width(gid)?;
        Some(f32::from(w) / self.units_per_em)
    }

    /// The advance of `c` in ems; `None` when the font has no glyph for it.
    fn advance(&self, c: char) -> Option<f32> {
        match self.fast.get(c as usize) {
            Some(w) if w.is_nan() => None,
            Some(w) => Some(*w),
            None => self.slow_advance(c),
        }
    }

    fn has(&self, c: char) -> bool {
        self.advance(c).is_some()
    }

    fn width(&self, text: &str, size: f32) -> f32 {
        text.chars()
            .map(|c| self.advance(c).or_else(|| self.advance('?')).unwrap_or(0.5))
            .sum::<f32>()
            * size
    }
}

struct Fonts {
    regular: Face,
    bold: Face,
}

static FONTS: LazyLock<Fonts> = LazyLock::new(|| Fonts {
    regular: Face::load(REGULAR_TTF),
    bold: Face::load(BOLD_TTF),
});

impl Fonts {
    fn face(&self, bold: bool) -> &Face {
        if bold {
            &self.bold
        } else {
            &self.regular
        }
    }
}

/// What is drawn on a page, before it becomes PDF operations.
enum Draw {
    Text {
        x: f32,
        y: f32,
        size: f32,
        bold: bool,
        grey: bool,
        text: String,
    },
    Fill {
        x: f32,
        y: f32,
        w: f32,
        h: f32,
        grey: f32,
    },
    Rule {
        x1: f32,
        x2: f32,
        y: f32,
    },
}

struct Layout<'a> {
    fonts: &'a Fonts,
    export: &'a Export,
    page_w: f32,
    page_h: f32,
    /// Left edges and widths of the columns.
    col_x: Vec<f32>,
    col_w: Vec<f32>,
    pages: Vec<Vec<Draw>>,
    page: Vec<Draw>,
    /// The top of the free space on the current page.
    y: f32,
}

/// Hands the memory a render freed back to the system. A 10,000-row document lays out 40–60 MB
/// on a blocking thread the async threads never reuse; without this the process stays that much
/// bigger after every large PDF (`cargo bench --bench export` prints both figures). Called on
/// the thread that rendered: mimalloc (the portal's allocator, `lib.rs`) collects that thread's
/// heap.
pub fn release_freed_memory() {
    // SAFETY: mi_collect only frees the calling thread's unused pages; no block in use moves.
    unsafe {
        libmimalloc_sys::mi_collect(true);
    }
}

/// Renders an export as a PDF document.
pub fn render(export: &Export) -> anyhow::Result<Vec<u8>> {
    let fonts = &*FONTS;
    let export = &export.for_reader();
    let pages = layout(fonts, export);
    to_pdf(fonts, export, pages)
}

/// How many pages `export` would take (for the benchmark and tests).
pub fn page_count(export: &Export) -> usize {
    layout(&FONTS, export).pages.len()
}

fn clean(fonts: &Fonts, text: &str, bold: bool) -> String {
    let face = fonts.face(bold);
    text.chars()
        .map(|c| {
            if c.is_control() {
                ' '
            } else if face.has(c) {
                c
            } else if c.is_whitespace() {
                // CLDR's narrow no-break space (U+202F) in dates, when the font lacks it.
                ' '
            } else {
                '?'
            }
        })
        .collect()
}

/// `text` cut to `max` points wide, with `…` where it was cut.
fn fit(face: &Face, text: &str, size: f32, max: f32) -> String {
    if face.width(text, size) <= max {
        return text.to_string();
    }
    let ellipsis = face.width("…", size);
    let mut out = String::new();
    let mut w = 0.0;
    for c in text.chars() {
        let cw = face.advance(c).unwrap_or(0.5) * size;
        if w + cw + ellipsis > max {
            break;
        }
        w += cw;
        out.push(c);
    }
    out.push('…');
    out
}

struct Pages {
    pages: Vec<Vec<Draw>>,
    page_w: f32,
    page_h: f32,
}

fn layout(fonts: &Fonts, export: &Export) -> Pages {
    let regular = &fonts.regular;
    let bold = &fonts.bold;
    // Natural widths: the widest cell of each column, its header included.
    let n = export.columns.len();
    let mut natural: Vec<f32> = export
        .columns
        .iter()
        .map(|c| bold.width(&c.label, TABLE_SIZE))
        .collect();
    for row in &export.rows {
        for (i, cell) in row.iter().take(n).enumerate() {
            let w = regular.width(cell, TABLE_SIZE);
            if w > natural[i] {
                natural[i] = w;
            }
        }
    }
    for w in &mut natural {
        *w += 2.0 * PAD;
    }
    let total: f32 = natural.iter().sum();
    let (page_w, page_h) = if total > A4_SHORT - 2.0 * MARGIN && n >= 5 {
        (A4_LONG, A4_SHORT)
    } else {
        (A4_SHORT, A4_LONG)
    };
    let avail = page_w - 2.0 * MARGIN;
    let col_w = fit_columns(export, &natural, avail);
    let mut col_x = Vec::with_capacity(n);
    let mut x = MARGIN;
    for w in &col_w {
        col_x.push(x);
        x += w;
    }
    let mut l = Layout {
        fonts,
        export,
        page_w,
        page_h,
        col_x,
        col_w,
        pages: Vec::new(),
        page: Vec::new(),
        y: page_h - TOP,
    };
    l.first_page_head();
    l.table();
    l.totals();
    l.pages.push(std::mem::take(&mut l.page));
    let mut pages = Pages {
        pages: l.pages,
        page_w,
        page_h,
    };
    footers(fonts, export, &mut pages);
    pages
}

/// Column widths that fill `avail`: text columns give up space first (their cells are cut with
/// `…`), numbers and dates keep theirs as long as they can.
fn fit_columns(export: &Export, natural: &[f32], avail: f32) -> Vec<f32> {
    let is_text: Vec<bool> = export
        .columns
        .iter()
        .map(|c| c.kind == Kind::Text)
        .collect();
    let total: f32 = natural.iter().sum();
    if total <= avail {
        // Spare room goes to the text columns (or to all when there is none).
        let spare = avail - total;
        let text_total: f32 = natural
            .iter()
            .zip(&is_text)
            .filter(|(_, t)| **t)
            .map(|(w, _)| w)
            .sum();
        return natural
            .iter()
            .zip(&is_text)
            .map(|(w, t)| {
                if text_total > 0.0 {
                    if *t {
                        w + spare * w / text_total
                    } else {
                        *w
                    }
                } else {
                    w + spare * w / total.max(1.0)
                }
            })
            .collect();
    }
    let fixed: f32 = natural
        .iter()
        .zip(&is_text)
        .filter(|(_, t)| !**t)
        .map(|(w, _)| w)
        .sum();
    let text_total = total - fixed;
    let room = avail - fixed;
    let min_text = 48.0_f32;
    let mut widths: Vec<f32> = natural
        .iter()
        .zip(&is_text)
        .map(|(w, t)| {
            if *t && text_total > 0.0 {
                (room * w / text_total).max(min_text.min(*w))
            } else {
                *w
            }
        })
        .collect();
    let sum: f32 = widths.iter().sum();
    if sum > avail {
        let k = avail / sum;
        for w in &mut widths {
            *w *= k;
        }
    }
    widths
}

impl Layout<'_> {
    fn text(&mut self, x: f32, y: f32, size: f32, bold: bool, grey: bool, text: &str) {
        if text.is_empty() {
            return;
        }
        self.page.push(Draw::Text {
            x,
            y,
            size,
            bold,
            grey,
            text: clean(self.fonts, text, bold),
        });
    }

    /// Text cut to `max` points.
    fn text_in(&mut self, x: f32, y: f32, size: f32, bold: bool, max: f32, text: &str) {
        let face = self.fonts.face(bold);
        let cleaned = clean(self.fonts, text, bold);
        let fitted = fit(face, &cleaned, size, max);
        self.text(x, y, size, bold, false, &fitted);
    }

    fn left(&self) -> f32 {
        MARGIN
    }

    fn right(&self) -> f32 {
        self.page_w - MARGIN
    }

    fn first_page_head(&mut self) {
        let e = self.export;
        let width = self.right() - self.left();
        let title = fit(&self.fonts.bold, &e.title, TITLE_SIZE, width);
        self.y -= TITLE_SIZE;
        self.text(self.left(), self.y, TITLE_SIZE, true, false, &title);
        self.y -= 6.0;
        for line in &e.subtitle {
            self.y -= LINE_H;
            let fitted = fit(&self.fonts.regular, line, TEXT_SIZE, width);
            self.text(self.left(), self.y, TEXT_SIZE, false, true, &fitted);
        }
        self.y -= 10.0;
        if !e.parties.is_empty() {
            let col = width / e.parties.len() as f32;
            let top = self.y;
            let mut lowest = top;
            for (i, party) in e.parties.iter().enumerate() {
                let x = self.left() + col * i as f32;
                let mut y = top - TABLE_SIZE;
                self.text_in(x, y, TABLE_SIZE, true, col - 12.0, &party.heading);
                for line in &party.lines {
                    y -= LINE_H;
                    self.text_in(x, y, TEXT_SIZE, false, col - 12.0, line);
                }
                lowest = lowest.min(y);
            }
            self.y = lowest - 16.0;
        }
        if !e.facts.is_empty() {
            let label_w = e
                .facts
                .iter()
                .map(|(l, _)| self.fonts.regular.width(l, TEXT_SIZE))
                .fold(0.0, f32::max)
                + 12.0;
            let label_w = label_w.min(width / 2.0);
            for (label, value) in &e.facts {
                self.y -= LINE_H;
                let y = self.y;
                let cut = fit(&self.fonts.regular, label, TEXT_SIZE, label_w - 6.0);
                self.text(self.left(), y, TEXT_SIZE, false, true, &cut);
                self.text_in(
                    self.left() + label_w,
                    y,
                    TEXT_SIZE,
                    false,
                    width - label_w,
                    value,
                );
            }
            self.y -= 12.0;
        }
    }

    fn next_page(&mut self) {
        self.pages.push(std::mem::take(&mut self.page));
        self.y = self.page_h - TOP;
        // A running head: the title, small.
        let title = fit(
            &self.fonts.bold,
            &self.export.title,
            TEXT_SIZE,
            self.right() - self.left(),
        );
        self.y -= TEXT_SIZE;
        self.text(self.left(), self.y, TEXT_SIZE, true, false, &title);
        self.y -= 10.0;
    }

    fn header_row(&mut self) {
        let top = self.y;
        self.page.push(Draw::Fill {
            x: self.left(),
            y: top - ROW_H,
            w: self.col_w.iter().sum(),
            h: ROW_H,
            grey: HEADER_FILL,
        });
        let base = top - ROW_H + 4.0;
        for i in 0..self.export.columns.len() {
            let col = &self.export.columns[i];
            let max = self.col_w[i] - 2.0 * PAD;
            let label = fit(&self.fonts.bold, &col.label, TABLE_SIZE, max);
            let x = self.cell_x(i, &label, true);
            self.text(x, base, TABLE_SIZE, true, false, &label);
        }
        self.y = top - ROW_H;
    }

    /// Where a cell's text starts: numbers are right-aligned.
    fn cell_x(&self, i: usize, text: &str, bold: bool) -> f32 {
        if self.export.columns[i].kind == Kind::Number {
            self.col_x[i] + self.col_w[i] - PAD - self.fonts.face(bold).width(text, TABLE_SIZE)
        } else {
            self.col_x[i] + PAD
        }
    }

    fn table(&mut self) {
        // The header and at least one row must fit under the head, else start on a new page.
        if self.y - 2.0 * ROW_H < BOTTOM {
            self.next_page();
        }
        self.header_row();
        if self.export.rows.is_empty() {
            self.y -= LINE_H + 4.0;
            let empty = self.export.empty.clone();
            self.text(self.left() + PAD, self.y, TEXT_SIZE, false, true, &empty);
            return;
        }
        let width: f32 = self.col_w.iter().sum();
        for (r, row) in self.export.rows.iter().enumerate() {
            if self.y - ROW_H < BOTTOM {
                self.next_page();
                self.header_row();
            }
            let top = self.y;
            if r % 2 == 1 {
                self.page.push(Draw::Fill {
                    x: self.left(),
                    y: top - ROW_H,
                    w: width,
                    h: ROW_H,
                    grey: STRIPE_FILL,
                });
            }
            let base = top - ROW_H + 4.0;
            for i in 0..self.export.columns.len() {
                let Some(cell) = row.get(i) else { continue };
                let max = self.col_w[i] - 2.0 * PAD;
                let cleaned = clean(self.fonts, cell, false);
                let fitted = fit(&self.fonts.regular, &cleaned, TABLE_SIZE, max);
                let x = self.cell_x(i, &fitted, false);
                self.page.push(Draw::Text {
                    x,
                    y: base,
                    size: TABLE_SIZE,
                    bold: false,
                    grey: false,
                    text: fitted,
                });
            }
            self.y = top - ROW_H;
        }
        let y = self.y;
        let (x1, x2) = (self.left(), self.left() + width);
        self.page.push(Draw::Rule { x1, x2, y });
    }

    fn totals(&mut self) {
        let totals = &self.export.totals;
        if totals.is_empty() {
            return;
        }
        let needed = 8.0 + LINE_H * totals.len() as f32;
        if self.y - needed < BOTTOM {
            self.next_page();
        }
        self.y -= 6.0;
        let right = self.left() + self.col_w.iter().sum::<f32>();
        let value_w = totals
            .iter()
            .map(|(_, v)| self.fonts.bold.width(v, TEXT_SIZE))
            .fold(0.0, f32::max);
        let label_right = right - value_w - 16.0;
        let last = totals.len() - 1;
        for (i, (label, value)) in totals.iter().enumerate() {
            self.y -= LINE_H;
            let bold = i == last && self.export.grand_total;
            let face = self.fonts.face(bold);
            let label = fit(face, label, TEXT_SIZE, label_right - self.left());
            let lx = label_right - face.width(&label, TEXT_SIZE);
            let vx = right - face.width(value, TEXT_SIZE);
            let y = self.y;
            self.text(lx, y, TEXT_SIZE, bold, false, &label);
            self.text(vx, y, TEXT_SIZE, bold, false, value);
        }
    }
}

/// "page 3 of 12" on the right of every page's foot, the title on the left.
fn footers(fonts: &Fonts, export: &Export, pages: &mut Pages) {
    let total = pages.pages.len();
    let right = pages.page_w - MARGIN;
    for (i, page) in pages.pages.iter_mut().enumerate() {
        let label = export
            .lang
            .fill("export.page_of", &[("n", &(i + 1)), ("total", &total)]);
        let w = fonts.regular.width(&label, FOOTER_SIZE);
        page.push(Draw::Text {
            x: right - w,
            y: FOOTER_Y,
            size: FOOTER_SIZE,
            bold: false,
            grey: true,
            text: clean(fonts, &label, false),
        });
        let title = fit(
            &fonts.regular,
            &clean(fonts, &export.title, false),
            FOOTER_SIZE,
            right - MARGIN - w - 24.0,
        );
        page.push(Draw::Text {
            x: MARGIN,
            y: FOOTER_Y,
            size: FOOTER_SIZE,
            bold: false,
            grey: true,
            text: title,
        });
    }
}

/// `face` reduced to the glyphs of `chars`; the whole face when subsetting fails.
fn subset(face: &Face, chars: &BTreeSet<char>) -> ParsedFont {
    use allsorts::binary::read::ReadScope;
    use allsorts::font_data::FontData;
    use allsorts::subset::{subset, CmapTarget, SubsetProfile};

    let mut gids: Vec<u16> = chars
        .iter()
        .filter_map(|c| face.font.lookup_glyph_index(*c as u32))
        .filter(|g| *g != 0)
        .collect();
    gids.sort_unstable();
    gids.dedup();
    // Glyph 0 (.notdef) must come first.
    gids.insert(0, 0);
    let made = (|| {
        let scope = ReadScope::new(face.bytes);
        let file = scope.read::<FontData<'_>>().ok()?;
        let provider = file.table_provider(0).ok()?;
        let bytes = subset(&provider, &gids, &SubsetProfile::Pdf, CmapTarget::Unicode).ok()?;
        ParsedFont::from_bytes(&bytes, 0, &mut Vec::new())
    })();
    made.unwrap_or_else(|| {
        tracing::warn!("PDF font subsetting failed; embedding the whole font");
        face.font.clone()
    })
}

fn to_pdf(fonts: &Fonts, export: &Export, pages: Pages) -> anyhow::Result<Vec<u8>> {
    let mut used = [BTreeSet::new(), BTreeSet::new()];
    for page in &pages.pages {
        for d in page {
            if let Draw::Text { bold, text, .. } = d {
                used[usize::from(*bold)].extend(text.chars());
            }
        }
    }
    let mut doc = PdfDocument::new(&export.title);
    let ids: [Option<FontId>; 2] = [false, true].map(|bold| {
        let chars = &used[usize::from(bold)];
        (!chars.is_empty()).then(|| doc.add_font(&subset(fonts.face(bold), chars)))
    });
    let (w, h) = (Pt(pages.page_w), Pt(pages.page_h));
    let grey = |g: f32| Color::Greyscale(Greyscale::new(g, None));
    let pdf_pages: Vec<PdfPage> = pages
        .pages
        .into_iter()
        .map(|draws| {
            let mut ops = Vec::with_capacity(draws.len() * 3 + 8);
            for d in &draws {
                match d {
                    Draw::Fill {
                        x,
                        y,
                        w,
                        h,
                        grey: g,
                    } => {
                        ops.push(Op::SetFillColor { col: grey(*g) });
                        ops.push(Op::DrawRectangle {
                            rectangle: Rect {
                                mode: Some(PaintMode::Fill),
                                ..Rect::from_xywh(Pt(*x), Pt(*y), Pt(*w), Pt(*h))
                            },
                        });
                    }
                    Draw::Rule { x1, x2, y } => {
                        ops.push(Op::SetOutlineColor { col: grey(0.5) });
                        ops.push(Op::SetOutlineThickness { pt: Pt(0.5) });
                        let point = |x: f32| LinePoint {
                            p: Point {
                                x: Pt(x),
                                y: Pt(*y),
                            },
                            bezier: false,
                        };
                        ops.push(Op::DrawLine {
                            line: Line {
                                points: vec![point(*x1), point(*x2)],
                                is_closed: false,
                            },
                        });
                    }
                    Draw::Text { .. } => {}
                }
            }
            ops.push(Op::StartTextSection);
            let mut font: Option<(bool, f32)> = None;
            let mut colour: Option<bool> = None;
            for d in draws {
                let Draw::Text {
                    x,
                    y,
                    size,
                    bold,
                    grey: is_grey,
                    text,
                } = d
                else {
                    continue;
                };
                let Some(id) = &ids[usize::from(bold)] else {
                    continue;
                };
                if font != Some((bold, size)) {
                    ops.push(Op::SetFont {
                        font: PdfFontHandle::External(id.clone()),
                        size: Pt(size),
                    });
                    font = Some((bold, size));
                }
                if colour != Some(is_grey) {
                    ops.push(Op::SetFillColor {
                        col: grey(if is_grey { GREY_TEXT } else { 0.0 }),
                    });
                    colour = Some(is_grey);
                }
                ops.push(Op::SetTextMatrix {
                    matrix: TextMatrix::Translate(Pt(x), Pt(y)),
                });
                ops.push(Op::ShowText {
                    items: vec![TextItem::Text(text)],
                });
            }
            ops.push(Op::EndTextSection);
            PdfPage {
                media_box: Rect::from_wh(w, h),
                trim_box: Rect::from_wh(w, h),
                crop_box: Rect::from_wh(w, h),
                ops,
            }
        })
        .collect();
    let mut warnings = Vec::new();
    let bytes = doc
        .with_pages(pdf_pages)
        .save(&PdfSaveOptions::default(), &mut warnings);
    if !warnings.is_empty() {
        tracing::debug!(count = warnings.len(), first = ?warnings.first(), "PDF warnings");
    }
    anyhow::ensure!(bytes.starts_with(b"%PDF"), "printpdf produced no PDF");
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::{Column, FileName, Party};
    use crate::i18n::Lang;

    fn sample(rows: usize) -> Export {
        Export {
            file: FileName::new("test", "demo2", ""),
            lang: Lang::En,
            title: "Payments — Мария Иванова".into(),
            subtitle: vec!["№ 5, all periods".into()],
            parties: vec![Party {
                heading: "Buyer".into(),
                lines: vec!["Мария Иванова".into()],
            }],
            facts: vec![("Currency".into(), "EUR €".into())],
            columns: vec![
                Column::date_time("date", "Date"),
                Column::text("name", "Name"),
                Column::number("amount", "Amount"),
            ],
            rows: (0..rows)
                .map(|i| {
                    vec![
                        "2025-01-01 10:00:00".into(),
                        format!("Row {i} Иванова"),
                        format!("-{i}.50"),
                    ]
                })
                .collect(),
            totals: vec![("Total".into(), "12.00 EUR".into())],
            grand_total: true,
            empty: "Nothing".into(),
        }
    }

    #[test]
    fn the_font_covers_cyrillic_euro_and_numero() {
        for c in ['Ж', 'я', '€', '№', 'é', 'Ω'] {
            assert!(FONTS.regular.has(c), "{c}");
            assert!(FONTS.bold.has(c), "{c}");
        }
        assert_eq!(clean(&FONTS, "a中b\tc", false), "a?b c");
    }

    #[test]
    fn long_text_is_cut_with_an_ellipsis() {
        let face = &FONTS.regular;
        let cut = fit(face, "A very long destination name indeed", 8.0, 50.0);
        assert!(cut.ends_with('…'));
        assert!(face.width(&cut, 8.0) <= 50.0);
        assert_eq!(fit(face, "short", 8.0, 50.0), "short");
    }

    #[test]
    fn tables_break_into_pages_with_every_page_numbered() {
        assert_eq!(page_count(&sample(3)), 1);
        let many = page_count(&sample(500));
        assert!(many > 5, "{many}");
        let pdf = render(&sample(120)).unwrap();
        assert!(pdf.starts_with(b"%PDF"));
        // The font is subset: far below the 740 KB of the whole face.
        assert!(pdf.len() < 120_000, "{} bytes", pdf.len());
    }
}
