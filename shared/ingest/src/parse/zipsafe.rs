//! ZIP containers (docx, xlsx, pptx) opened defensively: the magic is checked, the entry
//! count capped, and every entry read through a limited reader that counts the bytes that
//! actually come out, so neither a declared size nor a lie about it can exhaust memory.

use std::io::{Cursor, Read};

use zip::result::ZipError;
use zip::ZipArchive;

use super::wrong_content;
use crate::error::ParseError;
use crate::limits::ParseLimits;

/// The signature of an OLE2 compound file (legacy Office, and encrypted OOXML).
pub(crate) const CFB_MAGIC: [u8; 8] = [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];

/// Whether an OLE2 container holds an encrypted OOXML package (a password-protected
/// .docx/.xlsx/.pptx): its directory names the `EncryptedPackage` stream.
pub(crate) fn has_encrypted_package(bytes: &[u8]) -> bool {
    let needle: Vec<u8> = "EncryptedPackage"
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    bytes.windows(needle.len()).any(|w| w == needle.as_slice())
}

/// Entries smaller than this are not ratio-checked (small XML parts compress very well).
const RATIO_FLOOR: u64 = 1024 * 1024;

pub(crate) struct SafeZip<'a> {
    archive: ZipArchive<Cursor<&'a [u8]>>,
    limits: &'a ParseLimits,
    format: &'static str,
    used: u64,
}

fn map_zip_error(format: &'static str, e: ZipError) -> ParseError {
    match e {
        ZipError::UnsupportedArchive(msg) if msg == ZipError::PASSWORD_REQUIRED => {
            ParseError::Encrypted { format }
        }
        ZipError::InvalidPassword => ParseError::Encrypted { format },
        ZipError::CompressionMethodNotSupported(m) => ParseError::corrupt(
            format,
            format!("an entry uses an unsupported compression method ({m})"),
        ),
        ZipError::Io(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            ParseError::corrupt(format, "the ZIP container ends too early")
        }
        other => ParseError::corrupt(format, format!("invalid ZIP container ({other})")),
    }
}

impl<'a> SafeZip<'a> {
    /// Open `bytes` as the ZIP container of a `format` file named `.ext`.
    pub(crate) fn open(
        ext: &str,
        format: &'static str,
        expected: &'static str,
        bytes: &'a [u8],
        limits: &'a ParseLimits,
    ) -> Result<Self, ParseError> {
        if !bytes.starts_with(b"PK\x03\x04") && !bytes.starts_with(b"PK\x05\x06") {
            if bytes.starts_with(&CFB_MAGIC) && has_encrypted_package(bytes) {
                // A password-protected Office file is an OLE2 container around the package.
                return Err(ParseError::Encrypted { format });
            }
            return Err(wrong_content(ext, expected, bytes));
        }
        let archive = ZipArchive::new(Cursor::new(bytes)).map_err(|e| match e {
            ZipError::InvalidArchive(_) | ZipError::Io(_) => ParseError::corrupt(
                format,
                "the ZIP container is truncated or damaged (its central directory cannot be read)",
            ),
            other => map_zip_error(format, other),
        })?;
        if archive.len() > limits.max_zip_entries {
            return Err(ParseError::LimitExceeded(format!(
                "the ZIP container lists {} entries (limit {})",
                archive.len(),
                limits.max_zip_entries
            )));
        }
        Ok(SafeZip {
            archive,
            limits,
            format,
            used: 0,
        })
    }

    pub(crate) fn has(&self, name: &str) -> bool {
        self.archive.index_for_name(name).is_some()
    }

    /// Entry names (entries whose name is not valid are skipped).
    pub(crate) fn names(&self) -> Vec<String> {
        self.archive
            .file_names()
            .filter_map(Result::ok)
            .map(|n| n.into_owned())
            .collect()
    }

    fn check_ratio(&self, name: &str, size: u64, compressed: u64) -> Result<(), ParseError> {
        if size > RATIO_FLOOR && size / compressed.max(1) > self.limits.max_compression_ratio {
            return Err(ParseError::LimitExceeded(format!(
                "ZIP entry {name} expands {}:1 (limit {}:1); this looks like a zip bomb",
                size / compressed.max(1),
                self.limits.max_compression_ratio
            )));
        }
        Ok(())
    }

    fn over_budget(&self, name: &str) -> ParseError {
        ParseError::LimitExceeded(format!(
            "decompressing {name} would take the file past {} bytes of uncompressed data; this looks like a zip bomb",
            self.limits.max_uncompressed_bytes
        ))
    }

    /// Read one entry by index into `sink` (None: only count the bytes), enforcing limits.
    fn read_index(&mut self, index: usize, sink: Option<&mut Vec<u8>>) -> Result<(), ParseError> {
        let format = self.format;
        let remaining = self.limits.max_uncompressed_bytes.saturating_sub(self.used);
        let (name, declared, compressed) = {
            let file = self
                .archive
                .by_index(index)
                .map_err(|e| map_zip_error(format, e))?;
            let name = file.name().map(|n| n.into_owned()).unwrap_or_default();
            (name, file.size(), file.compressed_size())
        };
        if declared > remaining {
            return Err(self.over_budget(&name));
        }
        self.check_ratio(&name, declared, compressed)?;
        // Read at most one byte past what is declared (and allowed): more is a lie.
        let cap = declared.min(remaining).saturating_add(1);
        let total = {
            let file = self
                .archive
                .by_index(index)
                .map_err(|e| map_zip_error(format, e))?;
            copy_limited(file.take(cap), sink)
        }
        .map_err(|e| {
            ParseError::corrupt(
                format,
                format!("ZIP entry {name} cannot be decompressed ({e})"),
            )
        })?;
        if total > declared {
            return Err(ParseError::LimitExceeded(format!(
                "ZIP entry {name} holds more data than its header declares; this looks like a zip bomb"
            )));
        }
        self.check_ratio(&name, total, compressed)?;
        self.used += total;
        Ok(())
    }

    /// Read a named entry; `Ok(None)` when there is no such entry.
    pub(crate) fn read(&mut self, name: &str) -> Result<Option<Vec<u8>>, ParseError> {
        let Some(index) = self.archive.index_for_name(name) else {
            return Ok(None);
        };
        let mut out = Vec::new();
        self.read_index(index, Some(&mut out))?;
        Ok(Some(out))
    }

    /// Read a named entry as text (UTF-8, BOM stripped, invalid bytes replaced).
    pub(crate) fn read_text(&mut self, name: &str) -> Result<Option<String>, ParseError> {
        Ok(self.read(name)?.map(|bytes| xml_text(&bytes)))
    }

    /// Decompress every entry to nowhere, checking the limits, before handing the container
    /// to a library that reads it without them.
    pub(crate) fn scan_all(&mut self) -> Result<(), ParseError> {
        for i in 0..self.archive.len() {
            self.read_index(i, None)?;
        }
        Ok(())
    }
}

/// Copy everything `reader` yields into `sink` (or nowhere), returning the byte count.
fn copy_limited(mut reader: impl Read, mut sink: Option<&mut Vec<u8>>) -> std::io::Result<u64> {
    let mut total: u64 = 0;
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let n = match reader.read(&mut chunk) {
            Ok(0) => return Ok(total),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        total += n as u64;
        if let Some(out) = sink.as_deref_mut() {
            out.extend_from_slice(&chunk[..n]);
        }
    }
}

/// Decode an XML part: UTF-8 (with or without BOM), or UTF-16 with a BOM.
pub(crate) fn xml_text(bytes: &[u8]) -> String {
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        return super::text::decode(bytes).text;
    }
    let bytes = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(bytes);
    String::from_utf8_lossy(bytes).into_owned()
}
