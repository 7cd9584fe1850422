//! The BERT encoder of all-MiniLM-L6-v2: its config, weights laid out for `gemm` at load,
//! and the forward pass over stacked, unpadded token rows.

use super::*;

/// The parts of a BERT `config.json` the forward pass needs.
#[derive(Debug, Deserialize)]
pub(super) struct BertConfig {
    pub(super) vocab_size: usize,
    pub(super) hidden_size: usize,
    pub(super) num_hidden_layers: usize,
    pub(super) num_attention_heads: usize,
    pub(super) intermediate_size: usize,
    pub(super) hidden_act: String,
    pub(super) max_position_embeddings: usize,
    pub(super) type_vocab_size: usize,
    pub(super) layer_norm_eps: f64,
    #[serde(default)]
    pub(super) position_embedding_type: Option<String>,
}

/// One tokenised text.
pub(super) struct Sequence<'a> {
    pub(super) ids: &'a [u32],
    pub(super) type_ids: &'a [u32],
}

/// A linear layer, `y = x · Wᵀ + bias`, with `Wᵀ` stored so that gemm reads it in place,
/// without packing (see `PANEL`).
pub(super) struct Dense {
    /// The transposed weight cut into column panels of `PANEL` outputs (the last may be
    /// narrower), each stored contiguously `(inputs, width)` row-major.
    /// Empty when the layer runs in int8 (`q8`).
    pub(super) panels: Vec<f32>,
    /// The int8 form of the weights, when the embedder runs in int8.
    pub(super) q8: Option<QDense>,
    pub(super) bias: Vec<f32>,
    pub(super) inputs: usize,
    pub(super) outputs: usize,
}

pub(super) struct Norm {
    pub(super) gamma: Vec<f32>,
    pub(super) beta: Vec<f32>,
}

pub(super) struct Layer {
    /// Query, key and value in one product: outputs `[Q | K | V]`, heads in order in each.
    pub(super) qkv: Dense,
    pub(super) attn_out: Dense,
    pub(super) attn_norm: Norm,
    pub(super) up: Dense,
    pub(super) down: Dense,
    pub(super) out_norm: Norm,
}

/// BERT's embeddings and encoder (no pooler: sentence-transformers mean-pools instead).
pub(super) struct Encoder {
    pub(super) hidden: usize,
    pub(super) heads: usize,
    pub(super) intermediate: usize,
    pub(super) eps: f32,
    pub(super) vocab: usize,
    pub(super) max_positions: usize,
    pub(super) type_vocab: usize,
    pub(super) word: Vec<f32>,
    pub(super) position: Vec<f32>,
    pub(super) token_type: Vec<f32>,
    pub(super) emb_norm: Norm,
    pub(super) layers: Vec<Layer>,
}

/// Reads tensors by name, as f32, checking their shapes.
pub(super) struct Weights<'a> {
    pub(super) st: &'a MmapedSafetensors,
    /// `""`, or `"bert."` for checkpoints saved from `BertForXxx` models.
    pub(super) prefix: &'static str,
    pub(super) precision: Precision,
}

impl Weights<'_> {
    pub(super) fn tensor(&self, name: &str, shape: &[usize]) -> Result<Vec<f32>, String> {
        let name = format!("{}{name}", self.prefix);
        let t = self
            .st
            .load(&name, &Device::Cpu)
            .map_err(|e| format!("{name}: {e}"))?;
        if t.dims() != shape {
            return Err(format!("{name}: shape {:?}, expected {shape:?}", t.dims()));
        }
        t.to_dtype(DType::F32)
            .and_then(|t| t.flatten_all())
            .and_then(|t| t.to_vec1::<f32>())
            .map_err(|e| format!("{name}: {e}"))
    }

    /// The linear layers `names` (PyTorch `(out, in)` weights), side by side, transposed.
    pub(super) fn dense(
        &self,
        names: &[&str],
        inputs: usize,
        outputs_each: usize,
    ) -> Result<Dense, String> {
        let outputs = outputs_each * names.len();
        let mut bias = Vec::with_capacity(outputs);
        if self.precision == Precision::Int8 {
            // PyTorch's `(out, in)` rows of each layer, one after the other, are the rows of
            // the combined layer.
            let mut rows = Vec::with_capacity(inputs * outputs);
            for name in names {
                rows.extend(self.tensor(&format!("{name}.weight"), &[outputs_each, inputs])?);
                bias.extend(self.tensor(&format!("{name}.bias"), &[outputs_each])?);
            }
            return Ok(Dense {
                panels: Vec::new(),
                q8: Some(QDense::from_rows(&rows, inputs, outputs)),
                bias,
                inputs,
                outputs,
            });
        }
        let mut panels = vec![0f32; inputs * outputs];
        for (n, name) in names.iter().enumerate() {
            let w = self.tensor(&format!("{name}.weight"), &[outputs_each, inputs])?;
            for (o, row) in w.chunks_exact(inputs).enumerate() {
                let col = n * outputs_each + o;
                let start = col - col % PANEL;
                let width = PANEL.min(outputs - start);
                for (i, &v) in row.iter().enumerate() {
                    panels[inputs * start + i * width + (col - start)] = v;
                }
            }
            bias.extend(self.tensor(&format!("{name}.bias"), &[outputs_each])?);
        }
        Ok(Dense {
            panels,
            q8: None,
            bias,
            inputs,
            outputs,
        })
    }

    pub(super) fn norm(&self, name: &str, size: usize) -> Result<Norm, String> {
        Ok(Norm {
            gamma: self.tensor(&format!("{name}.weight"), &[size])?,
            beta: self.tensor(&format!("{name}.bias"), &[size])?,
        })
    }
}

impl Encoder {
    pub(super) fn load(
        st: &MmapedSafetensors,
        c: &BertConfig,
        precision: Precision,
    ) -> Result<Self, String> {
        if c.hidden_act != "gelu" {
            return Err(format!(
                "hidden_act {:?}: only \"gelu\" (erf) is supported",
                c.hidden_act
            ));
        }
        if let Some(p) = c
            .position_embedding_type
            .as_deref()
            .filter(|p| *p != "absolute")
        {
            return Err(format!(
                "position_embedding_type {p:?}: only \"absolute\" is supported"
            ));
        }
        if c.hidden_size == 0
            || c.intermediate_size == 0
            || c.num_attention_heads == 0
            || !c.hidden_size.is_multiple_of(c.num_attention_heads)
        {
            return Err(format!(
                "hidden_size {} must be a positive multiple of num_attention_heads {}, and \
                 intermediate_size {} positive",
                c.hidden_size, c.num_attention_heads, c.intermediate_size
            ));
        }
        let w = Weights {
            st,
            prefix: if st.get("embeddings.word_embeddings.weight").is_ok() {
                ""
            } else {
                "bert."
            },
            precision,
        };
        let (h, f) = (c.hidden_size, c.intermediate_size);
        let layers = (0..c.num_hidden_layers)
            .map(|l| {
                let p = format!("encoder.layer.{l}");
                Ok(Layer {
                    qkv: w.dense(
                        &[
                            &format!("{p}.attention.self.query"),
                            &format!("{p}.attention.self.key"),
                            &format!("{p}.attention.self.value"),
                        ],
                        h,
                        h,
                    )?,
                    attn_out: w.dense(&[&format!("{p}.attention.output.dense")], h, h)?,
                    attn_norm: w.norm(&format!("{p}.attention.output.LayerNorm"), h)?,
                    up: w.dense(&[&format!("{p}.intermediate.dense")], h, f)?,
                    down: w.dense(&[&format!("{p}.output.dense")], f, h)?,
                    out_norm: w.norm(&format!("{p}.output.LayerNorm"), h)?,
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok(Self {
            hidden: h,
            heads: c.num_attention_heads,
            intermediate: f,
            eps: c.layer_norm_eps as f32,
            vocab: c.vocab_size,
            max_positions: c.max_position_embeddings,
            type_vocab: c.type_vocab_size,
            word: w.tensor("embeddings.word_embeddings.weight", &[c.vocab_size, h])?,
            position: w.tensor(
                "embeddings.position_embeddings.weight",
                &[c.max_position_embeddings, h],
            )?,
            token_type: w.tensor(
                "embeddings.token_type_embeddings.weight",
                &[c.type_vocab_size, h],
            )?,
            emb_norm: w.norm("embeddings.LayerNorm", h)?,
            layers,
        })
    }

    /// Mean-pooled, L2-normalised vectors of `seqs`, computed together.
    pub(super) fn embed(&self, seqs: &[Sequence<'_>]) -> Result<Vec<Vec<f32>>, String> {
        for s in seqs {
            if s.ids.len() > self.max_positions || s.type_ids.len() != s.ids.len() {
                return Err(format!(
                    "{} tokens ({} type ids), at most {} supported",
                    s.ids.len(),
                    s.type_ids.len(),
                    self.max_positions
                ));
            }
            if s.ids.iter().any(|&id| id as usize >= self.vocab)
                || s.type_ids.iter().any(|&t| t as usize >= self.type_vocab)
            {
                return Err("a token id is outside the model's vocabulary".to_string());
            }
        }
        let mut out = vec![vec![0f32; self.hidden]; seqs.len()];
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512f") {
                // SAFETY: the CPU has AVX-512F (checked just above).
                unsafe { self.forward_avx512(seqs, &mut out) };
                return Ok(out);
            }
            if std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
            {
                // SAFETY: the CPU has AVX2 and FMA (checked just above).
                unsafe { self.forward_avx2(seqs, &mut out) };
                return Ok(out);
            }
        }
        self.forward(seqs, &mut out);
        Ok(out)
    }

    // The same forward pass compiled for wider vectors: `forward` and the kernels it calls
    // are `inline(always)`, so they are compiled again inside these with the features on.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx2,fma")]
    pub(super) fn forward_avx512(&self, seqs: &[Sequence<'_>], out: &mut [Vec<f32>]) {
        self.forward(seqs, out)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    pub(super) fn forward_avx2(&self, seqs: &[Sequence<'_>], out: &mut [Vec<f32>]) {
        self.forward(seqs, out)
    }

    /// The forward pass over all of `seqs`' tokens stacked into one `(tokens, hidden)`
    /// matrix; `out[i]` gets sequence `i`'s pooled vector. Inputs are validated by `embed`.
    #[inline(always)]
    pub(super) fn forward(&self, seqs: &[Sequence<'_>], out: &mut [Vec<f32>]) {
        let h = self.hidden;
        let lens: Vec<usize> = seqs.iter().map(|s| s.ids.len()).collect();
        let tokens: usize = lens.iter().sum();
        let longest = lens.iter().copied().max().unwrap_or(0);
        let mut x = vec![0f32; tokens * h];
        let mut sum = vec![0f32; tokens * h];
        let mut ctx = vec![0f32; tokens * h];
        let mut qkv = vec![0f32; tokens * 3 * h];
        let mut inter = vec![0f32; tokens * self.intermediate];
        let mut scores = vec![0f32; longest * longest];

        // Embeddings: word + token type + position, then layer norm.
        let mut rows = x.chunks_exact_mut(h);
        for s in seqs {
            for (pos, (&id, &ty)) in s.ids.iter().zip(s.type_ids).enumerate() {
                let Some(row) = rows.next() else { break };
                let word = &self.word[id as usize * h..][..h];
                let ty = &self.token_type[ty as usize * h..][..h];
                let pos = &self.position[pos * h..][..h];
                for (((r, w), t), p) in row.iter_mut().zip(word).zip(ty).zip(pos) {
                    *r = w + t + p;
                }
                layer_norm(row, &self.emb_norm, self.eps);
            }
        }

        for layer in &self.layers {
            linear(&x, &layer.qkv, &mut qkv);
            attention(&qkv, &lens, self.heads, h, &mut ctx, &mut scores);
            // Residual first, then the product accumulates onto it.
            sum.copy_from_slice(&x);
            matmul_add(&ctx, &layer.attn_out, &mut sum);
            add_bias_norm(
                &sum,
                &layer.attn_out.bias,
                &layer.attn_norm,
                self.eps,
                &mut x,
            );
            linear(&x, &layer.up, &mut inter);
            for v in inter.iter_mut() {
                *v = gelu(*v);
            }
            sum.copy_from_slice(&x);
            matmul_add(&inter, &layer.down, &mut sum);
            add_bias_norm(&sum, &layer.down.bias, &layer.out_norm, self.eps, &mut x);
        }

        // Mean pooling over each sequence's tokens, then unit length.
        let mut rows = x.chunks_exact(h);
        for (v, &len) in out.iter_mut().zip(&lens) {
            v.fill(0.0);
            for row in rows.by_ref().take(len) {
                for (a, r) in v.iter_mut().zip(row) {
                    *a += r;
                }
            }
            let count = len.max(1) as f32;
            for a in v.iter_mut() {
                *a /= count;
            }
            l2_normalize(v);
        }
    }
}
