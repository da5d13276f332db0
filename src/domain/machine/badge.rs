//! Status images: Buildbot 0.8's `/png` badges (a black "build" part and a coloured word, in
//! three fixed sizes) and the flat badges of `/badges/BUILDER.svg|png` that READMEs embed.
//! Drawn here from rectangles and DejaVu Sans (bundled, see `assets/DejaVuSans-LICENSE.txt`);
//! the SVG's widths come from the same font's advances, so its text fits its boxes.

use std::sync::LazyLock;

use ab_glyph::{Font, FontRef, PxScale, ScaleFont, point};
use tiny_skia::{Color, Paint, Pixmap, Rect, Transform};

use super::xml::escape;
use crate::domain::result::BuildResult;

static FONT: LazyLock<Option<FontRef<'static>>> =
    LazyLock::new(|| FontRef::try_from_slice(include_bytes!("assets/DejaVuSans.ttf")).ok());

/// What a badge reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Status {
    Finished(BuildResult),
    Running,
    /// No such builder or build, or nothing built yet.
    Unknown,
}

impl Status {
    /// Name and colour of the old `/png` images; running builds show as unknown there.
    fn png_word(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Self::Finished(BuildResult::Success) => ("success", "success", "#66800f"),
            Self::Finished(BuildResult::Warnings) => ("warnings", "warning", "#ffaa33"),
            Self::Finished(BuildResult::Failure) => ("failure", "failed", "#ff2a2a"),
            Self::Finished(BuildResult::Skipped) => ("skipped", "skipped", "#aaddee"),
            Self::Finished(BuildResult::Exception) => ("exception", "except", "#cc66cc"),
            Self::Finished(BuildResult::Retry) => ("retry", "retry", "#cc66cc"),
            Self::Finished(BuildResult::Cancelled) => ("cancelled", "cancel", "#cc66cc"),
            Self::Running | Self::Unknown => ("unknown", "unknown", "#666666"),
        }
    }

    /// Message and colour of a flat badge.
    pub fn flat(self) -> (&'static str, &'static str) {
        match self {
            Self::Finished(BuildResult::Success) => ("success", "#44cc11"),
            Self::Finished(BuildResult::Warnings) => ("warnings", "#dfb317"),
            Self::Finished(BuildResult::Failure) => ("failure", "#e05d44"),
            Self::Finished(BuildResult::Skipped) => ("skipped", "#9f9f9f"),
            Self::Finished(r @ (BuildResult::Exception | BuildResult::Retry | BuildResult::Cancelled)) => {
                (r.name(), "#cc66cc")
            }
            Self::Running => ("running", "#007ec6"),
            Self::Unknown => ("unknown", "#9f9f9f"),
        }
    }
}

/// The three sizes of `/png`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PngSize {
    Small,
    Normal,
    Large,
}

impl PngSize {
    /// `small`, `normal` or `large`; anything else is normal.
    pub fn parse(text: Option<&str>) -> Self {
        match text {
            Some("small") => Self::Small,
            Some("large") => Self::Large,
            _ => Self::Normal,
        }
    }

    pub fn pixels(self) -> (u32, u32) {
        match self {
            Self::Small => (32, 14),
            Self::Normal => (84, 18),
            Self::Large => (120, 80),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Small => "small",
            Self::Normal => "normal",
            Self::Large => "large",
        }
    }
}

/// The file name `/png` gives its image: `RESULT_SIZE.png`.
pub fn png_file_name(status: Status, size: PngSize) -> String {
    format!("{}_{}.png", status.png_word().0, size.name())
}

/// Width of `text` in DejaVu Sans at `px` pixels.
pub fn text_width(text: &str, px: f32) -> f32 {
    let Some(font) = FONT.as_ref() else { return text.chars().count() as f32 * px * 0.6 };
    let scaled = font.as_scaled(PxScale::from(px));
    text.chars().map(|c| scaled.h_advance(font.glyph_id(c))).sum()
}

fn colour(hex: &str) -> Color {
    let h = hex.trim_start_matches('#');
    let expand = |s: &str| u8::from_str_radix(s, 16).unwrap_or(0);
    let (r, g, b) = if h.len() == 3 {
        let d = |i: usize| expand(&h[i..=i].repeat(2));
        (d(0), d(1), d(2))
    } else {
        (expand(h.get(0..2).unwrap_or("0")), expand(h.get(2..4).unwrap_or("0")), expand(h.get(4..6).unwrap_or("0")))
    };
    Color::from_rgba8(r, g, b, 255)
}

fn fill(pixmap: &mut Pixmap, x: f32, w: f32, hex: &str) {
    let mut paint = Paint::default();
    paint.set_color(colour(hex));
    if let Some(rect) = Rect::from_xywh(x, 0.0, w, pixmap.height() as f32) {
        pixmap.fill_rect(rect, &paint, Transform::identity(), None);
    }
}

/// Draws `text` centred on `cx` with its baseline at `baseline`, blending over what is there.
fn draw_text(pixmap: &mut Pixmap, text: &str, px: f32, cx: f32, baseline: f32, hex: &str) {
    let Some(font) = FONT.as_ref() else { return };
    let ink = colour(hex).to_color_u8();
    let scaled = font.as_scaled(PxScale::from(px));
    let mut x = cx - text_width(text, px) / 2.0;
    let (width, height) = (pixmap.width() as i32, pixmap.height() as i32);
    let pixels = pixmap.pixels_mut();
    for c in text.chars() {
        let id = font.glyph_id(c);
        let glyph = id.with_scale_and_position(PxScale::from(px), point(x, baseline));
        x += scaled.h_advance(id);
        let Some(outline) = font.outline_glyph(glyph) else { continue };
        let bounds = outline.px_bounds();
        outline.draw(|gx, gy, coverage| {
            let (px_x, px_y) = (bounds.min.x as i32 + gx as i32, bounds.min.y as i32 + gy as i32);
            if px_x < 0 || px_y < 0 || px_x >= width || px_y >= height {
                return;
            }
            let i = (px_y * width + px_x) as usize;
            if let Some(dst) = pixels.get_mut(i) {
                let a = coverage.clamp(0.0, 1.0);
                let mix = |s: u8, d: u8| (f32::from(s) * a + f32::from(d) * (1.0 - a)).round() as u8;
                if let Some(p) = tiny_skia::PremultipliedColorU8::from_rgba(
                    mix(ink.red(), dst.red()),
                    mix(ink.green(), dst.green()),
                    mix(ink.blue(), dst.blue()),
                    255,
                ) {
                    *dst = p;
                }
            }
        });
    }
}

/// Draws a two-part badge of `width`×`height`: `left` on `left_bg`, `right` on `right_bg`,
/// the split where the texts' widths put it, the font shrunk until both fit.
fn two_part(width: u32, height: u32, left: (&str, &str), right: (&str, &str), ink: &str) -> Vec<u8> {
    let Some(mut pixmap) = Pixmap::new(width, height) else { return Vec::new() };
    let (w, h) = (width as f32, height as f32);
    let pad = (h * 0.15).clamp(1.5, 6.0);
    let fit = |left: &str| {
        let mut px = (h * 0.72).min(24.0);
        let pads = if left.is_empty() { 3.0 } else { 4.0 };
        while px > 4.0 && text_width(left, px) + text_width(right.0, px) + pads * pad > w {
            px -= 0.5;
        }
        px
    };
    let mut px = fit(left.0);
    // Too small to read both: the left part becomes a plain stripe, the word gets the room.
    let left_text = if px < 7.0 { "" } else { left.0 };
    if left_text.is_empty() {
        px = fit("");
    }
    let lw = if left_text.is_empty() { pad } else { text_width(left_text, px) + 2.0 * pad };
    let split = (lw + (w - lw - text_width(right.0, px) - 2.0 * pad) / 2.0).round().clamp(1.0, w - 1.0);
    fill(&mut pixmap, 0.0, split, left.1);
    fill(&mut pixmap, split, w - split, right.1);
    let baseline = (h + px * 0.72) / 2.0;
    draw_text(&mut pixmap, left_text, px, split / 2.0, baseline, ink);
    draw_text(&mut pixmap, right.0, px, split + (w - split) / 2.0, baseline, ink);
    pixmap.encode_png().unwrap_or_default()
}

/// A `/png` image (spec-web-machine §8): `build` in black, then the result's word.
pub fn png(status: Status, size: PngSize) -> Vec<u8> {
    let (_, word, bg) = status.png_word();
    let (w, h) = size.pixels();
    two_part(w, h, ("build", "#000000"), (word, bg), "#f9f9f9")
}

/// The look of a flat badge.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Style {
    /// Rounded corners and a light gradient (shields.io's `flat`).
    Flat,
    FlatSquare,
}

impl Style {
    pub fn parse(text: Option<&str>) -> Result<Self, String> {
        match text {
            None | Some("" | "flat") => Ok(Self::Flat),
            Some("flat-square") => Ok(Self::FlatSquare),
            Some(other) => Err(format!("argument 'style': '{other}' is not flat or flat-square")),
        }
    }
}

const FLAT_PX: f32 = 11.0;
const FLAT_HEIGHT: u32 = 20;

fn flat_widths(label: &str, message: &str) -> (u32, u32) {
    let w = |t: &str| (text_width(t, FLAT_PX) + 10.0).round() as u32;
    (w(label), w(message))
}

/// A flat SVG badge; text is escaped, widths measured with the font it names first.
pub fn svg(label: &str, message: &str, colour: &str, style: Style) -> String {
    let (lw, mw) = flat_widths(label, message);
    let total = lw + mw;
    let (l, m) = (escape(label), escape(message));
    let rx = if style == Style::Flat { 3 } else { 0 };
    let gradient = if style == Style::Flat {
        r##"<linearGradient id="s" x2="0" y2="100%"><stop offset="0" stop-color="#bbb" stop-opacity=".1"/><stop offset="1" stop-opacity=".1"/></linearGradient>"##
    } else {
        ""
    };
    let shade = if style == Style::Flat {
        format!(r##"<rect width="{total}" height="20" fill="url(#s)"/>"##)
    } else {
        String::new()
    };
    let (lx, mx) = (f64::from(lw) / 2.0, f64::from(lw) + f64::from(mw) / 2.0);
    format!(
        concat!(
            r##"<svg xmlns="http://www.w3.org/2000/svg" width="{total}" height="20" role="img" aria-label="{l}: {m}">"##,
            r##"<title>{l}: {m}</title>{gradient}"##,
            r##"<clipPath id="r"><rect width="{total}" height="20" rx="{rx}" fill="#fff"/></clipPath>"##,
            r##"<g clip-path="url(#r)"><rect width="{lw}" height="20" fill="#555"/><rect x="{lw}" width="{mw}" height="20" fill="{colour}"/>{shade}</g>"##,
            r##"<g fill="#fff" text-anchor="middle" font-family="DejaVu Sans,Verdana,Geneva,sans-serif" font-size="11">"##,
            r##"<text x="{lx}" y="15" fill="#010101" fill-opacity=".3">{l}</text><text x="{lx}" y="14">{l}</text>"##,
            r##"<text x="{mx}" y="15" fill="#010101" fill-opacity=".3">{m}</text><text x="{mx}" y="14">{m}</text>"##,
            "</g></svg>"
        ),
        total = total,
        l = l,
        m = m,
        gradient = gradient,
        rx = rx,
        lw = lw,
        mw = mw,
        colour = escape(colour),
        shade = shade,
        lx = lx,
        mx = mx,
    )
}

/// The same badge as a PNG, 20 pixels high.
pub fn flat_png(label: &str, message: &str, colour: &str) -> Vec<u8> {
    let (lw, mw) = flat_widths(label, message);
    let Some(mut pixmap) = Pixmap::new(lw + mw, FLAT_HEIGHT) else { return Vec::new() };
    fill(&mut pixmap, 0.0, lw as f32, "#555555");
    fill(&mut pixmap, lw as f32, mw as f32, colour);
    draw_text(&mut pixmap, label, FLAT_PX, lw as f32 / 2.0, 14.0, "#ffffff");
    draw_text(&mut pixmap, message, FLAT_PX, lw as f32 + mw as f32 / 2.0, 14.0, "#ffffff");
    pixmap.encode_png().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn png_images_have_the_spec_sizes_and_draw_their_text() {
        for size in [PngSize::Small, PngSize::Normal, PngSize::Large] {
            for status in
                [Status::Finished(BuildResult::Success), Status::Finished(BuildResult::Failure), Status::Unknown]
            {
                let image = Pixmap::decode_png(&png(status, size)).expect("a PNG");
                assert_eq!((image.width(), image.height()), size.pixels());
                let light = image.pixels().iter().filter(|p| p.red().min(p.green()).min(p.blue()) > 130).count();
                let most = image.pixels().iter().map(|p| p.red().min(p.green()).min(p.blue())).max();
                assert!(light > 3, "{size:?} {status:?} has text in near-white ({light}, {most:?})");
            }
        }
        assert_eq!(png_file_name(Status::Running, PngSize::Large), "unknown_large.png");
    }

    #[test]
    fn wider_text_makes_a_wider_badge() {
        let (a, _) = flat_widths("build", "x");
        let (b, _) = flat_widths("build build", "x");
        assert!(b > a + 20, "{a} {b}");
        assert!(text_width("W", 11.0) > text_width("i", 11.0));
        assert!(svg("<b>", "ok", "#4c1", Style::Flat).contains("&lt;b&gt;: ok"));
        assert_eq!(
            Style::parse(Some("plastic")).unwrap_err(),
            "argument 'style': 'plastic' is not flat or flat-square"
        );
    }
}
