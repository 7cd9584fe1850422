use super::*;

#[test]
fn gelu_matches_candles_erf_gelu() {
    let xs: Vec<f32> = (-2400..=2400).map(|i| i as f32 * 0.005).collect();
    let want = candle_core::Tensor::new(xs.as_slice(), &Device::Cpu)
        .and_then(|t| t.gelu_erf())
        .and_then(|t| t.to_vec1::<f32>())
        .unwrap();
    let worst = xs
        .iter()
        .zip(&want)
        .map(|(&x, &w)| (gelu(x) - w).abs())
        .fold(0.0f32, f32::max);
    assert!(
        worst < 1e-6,
        "gelu differs from candle's by up to {worst:e}"
    );
}

#[test]
fn exp_is_accurate() {
    for i in -870..880 {
        let x = i as f32 * 0.1 + 0.0123;
        let (got, want) = (exp(x), x.exp());
        assert!(
            ((got - want) / want).abs() < 1e-6,
            "exp({x}) = {got}, want {want}"
        );
    }
    assert_eq!(exp(0.0), 1.0);
    assert!(exp(-1000.0) < 1e-37);
}

#[test]
fn splits_by_tokens() {
    let enc = |n: usize| {
        let mut e = Encoding::default();
        e.pad(n, 0, 0, "[PAD]", tokenizers::PaddingDirection::Right);
        e
    };
    let encodings: Vec<Encoding> = [10, 10, 10, 10, 40, 1].iter().map(|&n| enc(n)).collect();
    let runs = split_by_tokens(&encodings, 2);
    let sizes: Vec<usize> = runs.iter().map(|r| r.len()).collect();
    assert_eq!(sizes, vec![5, 1]);
    assert_eq!(split_by_tokens(&encodings[..1], 2).len(), 1);
    assert_eq!(split_by_tokens(&encodings, 1).len(), 1);
    let sizes: Vec<usize> = split_by_tokens(&encodings, 8)
        .iter()
        .map(|r| r.len())
        .collect();
    assert_eq!(sizes.iter().sum::<usize>(), encodings.len());
}

fn model_dir() -> Option<PathBuf> {
    let mut candidates = Vec::new();
    if let Some(d) = std::env::var_os(MODEL_DIR_ENV) {
        candidates.push(PathBuf::from(d).join(BUILTIN_MODEL_DIR_NAME));
    }
    candidates.push(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../data/models")
            .join(BUILTIN_MODEL_DIR_NAME),
    );
    let found = candidates.iter().find(|d| has_model_files(d)).cloned();
    if found.is_none() {
        assert!(
            std::env::var("LAMBDARAG_REQUIRE_MODEL").as_deref() != Ok("1"),
            "LAMBDARAG_REQUIRE_MODEL=1 but the model is not in {candidates:?}"
        );
        eprintln!("SKIPPED: no model in {candidates:?}; run scripts/fetch-model.sh");
    }
    found
}

/// The pre-rewrite path: candle-transformers' `BertModel` over one padded batch, mean
/// pooling over the attention mask, L2 normalisation.
fn candle_reference(dir: &Path, texts: &[String]) -> Vec<Vec<f32>> {
    use candle_core::Tensor;
    use candle_transformers::models::bert::{BertModel, Config, DTYPE};
    let config: Config =
        serde_json::from_str(&std::fs::read_to_string(dir.join("config.json")).unwrap()).unwrap();
    // SAFETY: test-only read-only mapping of a file nothing rewrites.
    let vb = unsafe {
        candle_nn::VarBuilder::from_mmaped_safetensors(
            &[dir.join("model.safetensors")],
            DTYPE,
            &Device::Cpu,
        )
    }
    .unwrap();
    let model = BertModel::load(vb, &config).unwrap();
    let mut tokenizer = Tokenizer::from_file(dir.join("tokenizer.json")).unwrap();
    tokenizer.with_padding(Some(tokenizers::PaddingParams::default()));
    tokenizer
        .with_truncation(Some(TruncationParams {
            max_length: MAX_TOKENS,
            ..TruncationParams::default()
        }))
        .unwrap();
    let enc = tokenizer
        .encode_batch(texts.iter().map(String::as_str).collect(), true)
        .unwrap();
    let (rows, cols) = (enc.len(), enc[0].len());
    let flat = |f: fn(&Encoding) -> &[u32]| {
        let v: Vec<u32> = enc.iter().flat_map(|e| f(e).to_vec()).collect();
        Tensor::from_vec(v, (rows, cols), &Device::Cpu).unwrap()
    };
    let ids = flat(Encoding::get_ids);
    let types = flat(Encoding::get_type_ids);
    let mask = flat(Encoding::get_attention_mask);
    let hidden = model.forward(&ids, &types, Some(&mask)).unwrap();
    let mask = mask.to_dtype(DTYPE).unwrap().unsqueeze(2).unwrap();
    let summed = hidden.broadcast_mul(&mask).unwrap().sum(1).unwrap();
    let mean = summed.broadcast_div(&mask.sum(1).unwrap()).unwrap();
    let mut vectors: Vec<Vec<f32>> = mean.to_vec2().unwrap();
    vectors.iter_mut().for_each(|v| l2_normalize(v));
    vectors
}

fn max_diff(a: &[Vec<f32>], b: &[Vec<f32>]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .flat_map(|(x, y)| {
            assert_eq!(x.len(), y.len());
            x.iter().zip(y).map(|(p, q)| (p - q).abs())
        })
        .fold(0.0f32, f32::max)
}

#[test]
fn matches_candle_bert_model() {
    let Some(dir) = model_dir() else { return };
    let loaded = Loaded::load(&dir, Precision::F32).unwrap();
    let mut texts: Vec<String> = [
        "This is an example sentence",
        "",
        "a",
        "Ünïcödé façade — naïve café, 東京, emoji 🚀 and [brackets]!",
        "How do I reset my password?",
        "The quarterly report shows revenue growth in European markets while costs \
         remained stable, and the board approved the dividend.",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    // Longer than the 256-token cap, and a spread of lengths in between.
    texts.push("retrieval augmented generation pipeline ".repeat(120));
    texts.extend((1..12).map(|i| "tokens and more words ".repeat(i * 4)));
    let want = candle_reference(&dir, &texts);

    // Several batches, split over threads.
    let got = loaded.embed(&texts, 5, 3).unwrap();
    let diff = max_diff(&got, &want);
    eprintln!("max |ours - candle BertModel| = {diff:e}");
    assert!(diff < 1e-4, "differs from candle's BertModel by {diff:e}");

    // One at a time (the query path) gives the same vectors.
    let single: Vec<Vec<f32>> = texts
        .iter()
        .flat_map(|t| loaded.embed(std::slice::from_ref(t), 32, 1).unwrap())
        .collect();
    let diff = max_diff(&single, &want);
    assert!(diff < 1e-4, "one at a time: differs by {diff:e}");

    // The portable build of the forward pass agrees with the one the CPU dispatched to.
    let encodings = loaded.tokenize(&texts).unwrap();
    let seqs: Vec<Sequence<'_>> = encodings
        .iter()
        .map(|e| Sequence {
            ids: e.get_ids(),
            type_ids: e.get_type_ids(),
        })
        .collect();
    let mut portable = vec![vec![0f32; loaded.encoder.hidden]; seqs.len()];
    loaded.encoder.forward(&seqs, &mut portable);
    let diff = max_diff(&portable, &want);
    assert!(diff < 1e-4, "portable forward pass: differs by {diff:e}");
}
