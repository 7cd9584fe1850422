"""Text to speech and speech to text with the tenant's default audio models, over raw HTTP:
the pinned `POST /tts` and `POST /sequence2txt` and v0.27's `POST /chat/audio/speech` and
`POST /chat/audio/transcription` (the same rules). The models are the fake OpenAI-compatible
server's `/audio/speech` (bytes spelling what was spoken) and `/audio/transcriptions`.
"""

from __future__ import annotations

import json

import pytest

from conftest import Api, create_tenant, run_cli

SPEECH = ("/tts", "/chat/audio/speech")
TRANSCRIPTION = ("/sequence2txt", "/chat/audio/transcription")
# The pinned handler's own texts, and v0.27's (its model lookup's).
NO_TTS = {"/tts": "No default TTS model is set", "/chat/audio/speech": "No default tts model is set."}
NO_ASR = {"/sequence2txt": "No default ASR model is set", "/chat/audio/transcription": "No default speech2text model is set."}
ALLOWED = ".aac, .flac, .m4a, .mp3, .ogg, .opus, .wav, .webm, .wma"


def tenant_with(deployment, base_url, url, name, *defaults) -> Api:
    tenant = create_tenant(deployment.server.data_dir, name)
    deployment.cleanup_keys.append(tenant.api_key)
    run_cli(deployment.server.data_dir, "provider", "set", "--tenant", tenant.id, "--factory", "OpenAI-API-Compatible",
            "--base-url", url, "--api-key", "x", "--model", "voice-1:tts", "--model", "broken-tts:tts",
            "--model", "ear-1:speech2text")
    if defaults:
        run_cli(deployment.server.data_dir, "defaults", "--tenant", tenant.id, *defaults)
    return Api(base_url, tenant.api_key)


@pytest.fixture(scope="module")
def voiced(deployment, fake_llm_server, base_url) -> Api:
    _, url = fake_llm_server
    return tenant_with(deployment, base_url, url, "audio", "--tts", "voice-1@OpenAI-API-Compatible",
                       "--asr", "ear-1@OpenAI-API-Compatible")


@pytest.fixture(scope="module")
def mute(deployment, fake_llm_server, base_url) -> Api:
    _, url = fake_llm_server
    return tenant_with(deployment, base_url, url, "audio-none")


@pytest.mark.parametrize("path", SPEECH)
def test_speech_streams_each_piece(voiced, path):
    res = voiced.post(path, json={"text": "Hello: world;\nagain"})
    assert res.status_code == 200, res.text
    assert res.headers["Content-Type"] == "audio/mpeg"
    assert res.headers["Cache-Control"] == "no-cache"
    assert res.content == b"ID3[alloy:Hello]ID3[alloy:world]ID3[alloy:again]"


@pytest.mark.parametrize("path", SPEECH)
def test_speech_errors(voiced, mute, path, deployment, fake_llm_server, base_url):
    missing_text = voiced.post(path, json={}).json()
    assert (missing_text["code"], missing_text["message"]) == (100, "KeyError('text')")
    assert mute.post(path, json={"text": "hi"}).json() == {"code": 102, "message": NO_TTS[path]}
    unauthenticated = voiced.post(path, key=None, json={"text": "hi"})
    if path == "/tts":
        assert unauthenticated.json()["message"] == "`Authorization` can't be empty"
    else:  # v0.27's login_required
        assert unauthenticated.status_code == 401


def test_a_failing_voice_ends_the_stream_with_an_error_frame(deployment, fake_llm_server, base_url):
    _, url = fake_llm_server
    api = tenant_with(deployment, base_url, url, "audio-broken", "--tts", "broken-tts@OpenAI-API-Compatible")
    res = api.post("/tts", json={"text": "anything"})
    assert res.status_code == 200 and res.headers["Content-Type"] == "audio/mpeg"
    assert res.text.startswith("data:"), res.text
    frame = json.loads(res.text[len("data:"):])
    assert frame["code"] == 500 and frame["data"]["answer"].startswith("**ERROR**: ")
    assert "the voice engine is down" in frame["message"]


def wav(name="talk.WAV", body=b"RIFF0000WAVEfmt "):
    return {"file": (name, body, "audio/wav")}


@pytest.mark.parametrize("path", TRANSCRIPTION)
def test_transcription(voiced, path):
    res = voiced.post(path, files=wav(), data={"stream": "false"})
    assert res.json() == {
        "code": 0,
        "message": "success",
        "data": {"text": "heard 16 bytes of talk.WAV with ear-1"},
    }
    streamed = voiced.post(path, files=wav(), data={"stream": "True"})
    assert streamed.headers["Content-Type"].startswith("text/event-stream")
    assert streamed.text.startswith("data: ") and streamed.text.endswith("\n\n")
    assert json.loads(streamed.text[len("data: "):]) == {
        "event": "final",
        "text": "heard 16 bytes of talk.WAV with ear-1",
        "streaming": False,
    }


@pytest.mark.parametrize("path", TRANSCRIPTION)
def test_transcription_errors(voiced, mute, path):
    missing = {"code": 102, "message": "Missing 'file' in multipart form-data"}
    assert voiced.post(path, data={"stream": "false"}).json() == missing
    assert voiced.post(path, files={"other": ("a.wav", b"x")}).json() == missing
    assert voiced.post(path, files=wav("clip.mp4")).json() == {
        "code": 102,
        "message": f"Unsupported audio format: .mp4. Allowed: {ALLOWED}",
    }
    assert voiced.post(path, files=wav("noext")).json()["message"] == f"Unsupported audio format: . Allowed: {ALLOWED}"
    assert mute.post(path, files=wav()).json() == {"code": 102, "message": NO_ASR[path]}
