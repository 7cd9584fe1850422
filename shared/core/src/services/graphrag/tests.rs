use serde_json::json;

use super::extract::{self, builtin, parse_extraction, parse_report};
use super::graph::{self, entity_key, merge, Extraction, KnowledgeGraph};
use super::*;

const CURIE: &str = "Marie Curie worked with Pierre Curie in Paris. \
Pierre Curie taught at the University of Paris. \
The Nobel Prize went to Marie Curie twice.";

fn types() -> Vec<String> {
    DEFAULT_ENTITY_TYPES.iter().map(|s| s.to_string()).collect()
}

#[test]
fn config_defaults_follow_upstream() {
    let c = GraphConfig::from_parser_config(&json!({}));
    assert!(c.use_graphrag, "no graphrag section: the naive default, on");
    assert_eq!(c.entity_types, types());
    assert_eq!(c.method, "light");
    assert!(!c.community && !c.resolution);
    let c = GraphConfig::from_parser_config(&json!({"graphrag": {
        "use_graphrag": false, "entity_types": ["person", " "], "method": "general",
        "community": true, "resolution": 1}}));
    assert!(!c.use_graphrag && c.community && c.resolution);
    assert_eq!(c.entity_types, vec!["person".to_string()]);
    assert_eq!(c.method, "general");
    // A graphrag section without the flag is upstream's off.
    assert!(!GraphConfig::from_parser_config(&json!({"graphrag": {}})).use_graphrag);
}

#[test]
fn the_builtin_extractor_finds_names_and_relates_those_sharing_a_sentence() {
    let found = builtin(&[("d1".into(), CURIE.into())], &types());
    let x = &found[0].1;
    let names: Vec<&str> = x.entities.iter().map(|(n, _, _)| n.as_str()).collect();
    assert!(names.contains(&"Marie Curie"), "{names:?}");
    assert!(names.contains(&"Pierre Curie"), "{names:?}");
    assert!(names.contains(&"Paris"), "{names:?}");
    assert!(names.contains(&"University of Paris"), "{names:?}");
    assert!(names.contains(&"Nobel Prize"), "{names:?}");
    assert!(!names.iter().any(|n| n.starts_with("The")), "{names:?}");
    let ty = |n: &str| {
        x.entities
            .iter()
            .find(|(m, _, _)| m == n)
            .map(|(_, t, _)| t.clone())
    };
    assert_eq!(ty("University of Paris").as_deref(), Some("organization"));
    assert_eq!(ty("Paris").as_deref(), Some("geo"));
    assert!(x.relations.iter().any(|(a, b, d, _, _)| a == "Marie Curie"
        && b == "Pierre Curie"
        && d.contains("worked with")));
}

#[test]
fn a_lone_sentence_initial_word_is_a_name_only_if_written_capitalised_elsewhere() {
    let found = builtin(
        &[(
            "d".into(),
            "Solar panels face south. Bees like Lavender. Lavender grows fast.".into(),
        )],
        &types(),
    );
    let names: Vec<&str> = found[0]
        .1
        .entities
        .iter()
        .map(|(n, _, _)| n.as_str())
        .collect();
    assert!(!names.contains(&"Solar"), "{names:?}");
    assert!(names.contains(&"Lavender"), "{names:?}");
}

#[test]
fn merging_joins_names_types_descriptions_and_weights() {
    let a = Extraction {
        entities: vec![
            ("Marie Curie".into(), "person".into(), "A physicist.".into()),
            ("paris".into(), "geo".into(), "A city.".into()),
        ],
        relations: vec![(
            "Marie Curie".into(),
            "Paris".into(),
            "Lived in.".into(),
            vec!["home".into()],
            2.0,
        )],
    };
    let b = Extraction {
        entities: vec![("MARIE  CURIE".into(), "person".into(), "A chemist.".into())],
        relations: vec![
            (
                "Paris".into(),
                "Marie Curie".into(),
                "Worked in.".into(),
                vec![],
                3.0,
            ),
            (
                "Marie Curie".into(),
                "Radium".into(),
                "Discovered it.".into(),
                vec![],
                1.0,
            ),
        ],
    };
    let (ents, rels) = merge(&[("d1".into(), a), ("d2".into(), b)], false);
    let names: Vec<&str> = ents.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["MARIE CURIE", "PARIS", "RADIUM"]);
    assert_eq!(ents[0].description, "A physicist.\nA chemist.");
    assert_eq!(ents[0].source_id, ["d1", "d2"]);
    assert_eq!(ents[2].entity_type, "unknown");
    let mp = rels.iter().find(|r| r.target == "PARIS").expect("edge");
    assert_eq!((mp.source.as_str(), mp.weight), ("MARIE CURIE", 5.0));
    assert_eq!(mp.description, "Lived in.\nWorked in.");
    assert_eq!(entity_key("  \"Nobel   prize\". "), "NOBEL PRIZE");
}

#[test]
fn resolution_merges_plurals_and_punctuation_variants() {
    let x = Extraction {
        entities: vec![
            ("Honey Bee".into(), "category".into(), "An insect.".into()),
            ("Honey Bees".into(), "category".into(), "Insects.".into()),
            ("Honey-Bee".into(), "category".into(), "".into()),
            ("Hive".into(), "category".into(), "".into()),
        ],
        relations: vec![(
            "Honey Bees".into(),
            "Hive".into(),
            "Live in.".into(),
            vec![],
            1.0,
        )],
    };
    let (plain, _) = merge(&[("d".into(), x.clone())], false);
    assert_eq!(plain.len(), 4);
    let (ents, rels) = merge(&[("d".into(), x)], true);
    assert_eq!(ents.len(), 2, "{ents:?}");
    assert_eq!(rels.len(), 1);
    assert_eq!(rels[0].source, "HIVE");
    assert_eq!(rels[0].target, "HONEY BEE");
}

fn sample_graph() -> KnowledgeGraph {
    let found = builtin(&[("d1".into(), CURIE.into())], &types());
    let (mut entities, relations) = merge(&found, false);
    graph::pagerank(&mut entities, &relations);
    KnowledgeGraph {
        task_id: "t".into(),
        method: "built-in extractor".into(),
        entities,
        relations,
        communities: vec![],
        doc_ids: vec!["d1".into()],
    }
}

#[test]
fn pagerank_ranks_the_most_connected_entity_first_and_sums_to_one() {
    let g = sample_graph();
    let total: f64 = g.entities.iter().map(|e| e.pagerank).sum();
    assert!((total - 1.0).abs() < 1e-6, "{total}");
    let top = g
        .entities
        .iter()
        .max_by(|a, b| a.pagerank.total_cmp(&b.pagerank))
        .expect("entities");
    assert!(
        top.name == "MARIE CURIE" || top.name == "PIERRE CURIE",
        "{}",
        top.name
    );
}

#[test]
fn the_api_graph_is_node_link_data_trimmed_and_the_mind_map_a_tree() {
    let g = sample_graph();
    let v = g.to_api();
    assert_eq!(v["directed"], false);
    let nodes = v["nodes"].as_array().expect("nodes");
    assert_eq!(nodes.len(), g.entities.len());
    let ranks: Vec<f64> = nodes
        .iter()
        .filter_map(|n| n["pagerank"].as_f64())
        .collect();
    assert!(ranks.windows(2).all(|w| w[0] >= w[1]), "sorted by pagerank");
    assert!(nodes
        .iter()
        .all(|n| n["id"].is_string() && n["entity_type"].is_string()));
    let edges = v["edges"].as_array().expect("edges");
    assert!(!edges.is_empty());
    assert!(edges.iter().all(|e| e["source"] != e["target"]));

    // More than 256 nodes: only the best 256, and edges only between them.
    let mut big = g.clone();
    for i in 0..300 {
        big.entities.push(graph::Entity {
            name: format!("E{i:03}"),
            entity_type: "category".into(),
            description: String::new(),
            source_id: vec![],
            pagerank: i as f64 / 1e6,
            vector: vec![],
        });
    }
    let v = big.to_api();
    assert_eq!(v["nodes"].as_array().map(Vec::len), Some(graph::API_NODES));
    assert!(v["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .all(|n| n["id"] != "E000"));

    let m = g.mind_map("my dataset");
    assert_eq!(m["id"], "my dataset");
    let kids = m["children"].as_array().expect("types");
    assert!(kids.iter().any(|t| t["id"] == "geo"));
    assert!(kids
        .iter()
        .flat_map(|t| t["children"].as_array().into_iter().flatten())
        .any(|e| e["id"] == "MARIE CURIE" && !e["children"].as_array().is_none_or(Vec::is_empty)));
    assert_eq!(KnowledgeGraph::default().mind_map("x"), json!({}));
}

#[test]
fn communities_group_connected_entities_and_get_a_report() {
    let mut g = sample_graph();
    // A second, separate component.
    let x = Extraction {
        entities: vec![],
        relations: vec![(
            "Honey Bee".into(),
            "Hive".into(),
            "Live in.".into(),
            vec![],
            1.0,
        )],
    };
    let (e2, r2) = merge(&[("d2".into(), x)], false);
    g.entities.extend(e2);
    g.relations.extend(r2);
    let groups = graph::communities(&g.entities, &g.relations);
    assert!(groups.len() >= 2, "{groups:?}");
    assert!(groups
        .iter()
        .any(|c| c == &vec!["HIVE".to_string(), "HONEY BEE".to_string()]));
    let members: Vec<&graph::Entity> = g
        .entities
        .iter()
        .filter(|e| groups[0].contains(&e.name))
        .collect();
    let rels: Vec<&graph::Relation> = g
        .relations
        .iter()
        .filter(|r| groups[0].contains(&r.source) && groups[0].contains(&r.target))
        .collect();
    let (title, report, _) = extract::builtin_report(&members, &rels);
    assert!(!title.is_empty());
    assert!(report.starts_with(&format!("# {title}\n")), "{report}");
}

#[test]
fn model_answers_are_read_through_fences_and_prose() {
    let answer = "Sure!\n```json\n{\"entities\": [{\"name\": \"Paris\", \"type\": \"geo\", \"description\": \"A city\"}], \
\"relations\": [{\"source\": \"Paris\", \"target\": \"France\", \"description\": \"capital\", \"keywords\": \"capital, city\", \"strength\": \"8\"}]}\n```";
    let x = parse_extraction(answer).expect("parsed");
    assert_eq!(
        x.entities,
        vec![("Paris".into(), "geo".into(), "A city".into())]
    );
    assert_eq!(
        x.relations[0].3,
        vec!["capital".to_string(), "city".to_string()]
    );
    assert_eq!(x.relations[0].4, 8.0);
    assert!(parse_extraction("no json here").is_none());
    assert!(parse_extraction("{\"other\": 1}").is_none());
    let (title, report, rating) = parse_report(
        "{\"title\": \"Curie\", \"summary\": \"S.\", \"findings\": [{\"summary\": \"F\", \"explanation\": \"E\"}], \"rating\": 7}",
    )
    .expect("report");
    assert_eq!((title.as_str(), rating), ("Curie", 7.0));
    assert_eq!(report, "# Curie\n\nS.\n\n## F\n\nE\n");
    assert!(extract::extraction_prompt(&types(), "TEXT").starts_with(extract::EXTRACTION_HEADER));
}

#[test]
fn stored_graphs_round_trip_with_their_vectors() {
    let mut g = sample_graph();
    g.entities[0].vector = vec![0.5, -1.25, 3.0];
    let bytes = serde_json::to_vec(&g).expect("encode");
    let back: KnowledgeGraph = serde_json::from_slice(&bytes).expect("decode");
    assert_eq!(
        back.entities[0].vector, g.entities[0].vector,
        "vectors are exact"
    );
    assert_eq!(back.relations, g.relations);
    for (a, b) in back.entities.iter().zip(&g.entities) {
        assert_eq!((&a.name, &a.description), (&b.name, &b.description));
        assert!((a.pagerank - b.pagerank).abs() < 1e-12);
    }
}

#[test]
fn batches_keep_documents_apart_and_stay_within_budget() {
    let long = "word ".repeat(BATCH_WORDS - 10);
    let chunks = vec![
        ("a".to_string(), "one two".to_string()),
        ("a".to_string(), "three".to_string()),
        ("b".to_string(), "four".to_string()),
        ("b".to_string(), long.clone()),
        ("b".to_string(), long),
    ];
    let b = batches(&chunks);
    assert_eq!(b.len(), 3);
    assert_eq!(b[0], ("a".to_string(), "one two\n\nthree".to_string()));
    assert!(b[1].0 == "b" && b[1].1.starts_with("four\n\nword"));
    assert!(b
        .iter()
        .all(|(_, t)| t.split_whitespace().count() <= BATCH_WORDS));
}
