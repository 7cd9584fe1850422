//! Guard rails for parsing untrusted files.

/// Limits applied by [`crate::parse`]. The defaults suit a worker with a few GiB of memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseLimits {
    /// Largest input file accepted at all.
    pub max_file_bytes: u64,
    /// Total bytes that may be decompressed out of one ZIP container (docx, xlsx, pptx).
    pub max_uncompressed_bytes: u64,
    /// Most entries a ZIP container may list.
    pub max_zip_entries: usize,
    /// Highest uncompressed:compressed ratio of one ZIP entry (checked on entries over
    /// 1 MiB, where real documents never come near it).
    pub max_compression_ratio: u64,
    /// Most pages (PDF) or slides (PPTX) read.
    pub max_pages: usize,
    /// Most characters of text extracted from one file.
    pub max_text_chars: usize,
}

impl Default for ParseLimits {
    fn default() -> Self {
        ParseLimits {
            max_file_bytes: 128 * 1024 * 1024,
            max_uncompressed_bytes: 512 * 1024 * 1024,
            max_zip_entries: 10_000,
            max_compression_ratio: 200,
            max_pages: 5_000,
            max_text_chars: 50_000_000,
        }
    }
}
