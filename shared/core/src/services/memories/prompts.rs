//! The extraction prompts (lambdarag's own wording). A memory's `system_prompt` is
//! generated from its types; the user prompt carries the conversation and the time.

use super::extract_types;

fn type_guide(name: &str) -> &'static str {
    match name {
        "semantic" => {
            "- semantic: lasting facts and knowledge about the user or the world, stated \
             plainly (preferences, relationships, definitions)."
        }
        "episodic" => {
            "- episodic: specific events with their time: what happened, when, who was \
             involved."
        }
        "procedural" => {
            "- procedural: how the user does things: habits, steps, routines and \
             instructions they follow or want followed."
        }
        _ => "",
    }
}

/// The default system prompt for a memory of these types.
pub fn system_prompt(memory_type: u32) -> String {
    let types = extract_types(memory_type);
    if types.is_empty() {
        return "This memory keeps raw conversation turns only; nothing is extracted.".into();
    }
    let guides: Vec<&str> = types.iter().map(|t| type_guide(t)).collect();
    let example: Vec<String> = types
        .iter()
        .map(|t| {
            format!(
                "  \"{t}\": [{{\"content\": \"...\", \"valid_at\": \"2026-01-31T09:30:00\", \
                 \"invalid_at\": \"\"}}]"
            )
        })
        .collect();
    format!(
        "You extract long-term memories from one conversation turn between a user and an \
         agent.\n\nKinds of memory to extract:\n{}\n\nRules: keep each memory short, \
         self-contained and true to the conversation; do not invent anything; leave a kind \
         out or give it an empty list when the turn holds none of it.\n\nOUTPUT \
         REQUIREMENTS: answer with one JSON object and nothing else. Its keys are the kinds \
         above; each value is a list of objects with `content` (the memory), `valid_at` \
         (ISO 8601 time from which it holds; the conversation time if unknown) and \
         `invalid_at` (ISO 8601 time it stops holding, or an empty string).\n\nOUTPUT \
         FORMAT:\n{{\n{}\n}}",
        guides.join("\n"),
        example.join(",\n")
    )
}

/// Whether a prompt is the default of these types (an edited prompt is left alone when
/// the types change).
pub fn is_default(prompt: &str, memory_type: u32) -> bool {
    prompt == system_prompt(memory_type)
}

/// The user message of an extraction.
pub fn user_prompt(conversation: &str, conversation_time: &str, now: &str) -> String {
    format!(
        "Conversation:\n{conversation}\n\nConversation time: {conversation_time}\nCurrent \
         time: {now}\n\nExtract the memories as instructed."
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompts_follow_the_types() {
        let p = system_prompt(1 | 2 | 8);
        assert!(p.contains("- semantic:") && p.contains("- procedural:"));
        assert!(!p.contains("- episodic:"));
        assert!(p.contains("OUTPUT FORMAT"));
        assert!(is_default(&p, 1 | 2 | 8));
        assert!(!is_default(&p, 2));
        assert!(system_prompt(1).contains("raw"));
    }
}
