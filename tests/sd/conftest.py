"""Folders of tiny peer components shared by the Stable Diffusion tests (built once per session)."""
import pytest

from helpers import sd_tiny


@pytest.fixture(scope="session")
def hub_tokenizer_dir(tmp_path_factory):
    """vocab.json + merges.txt + configs, as SD 1.x hub folders ship the tokenizer."""
    return sd_tiny.write_hub_tokenizer(str(tmp_path_factory.mktemp("hub_tokenizer")))


@pytest.fixture(scope="session")
def saved_tokenizer_dir(hub_tokenizer_dir, tmp_path_factory):
    """The same tokenizer after transformers' save_pretrained (tokenizer.json)."""
    from transformers import CLIPTokenizer

    folder = str(tmp_path_factory.mktemp("saved_tokenizer"))
    CLIPTokenizer.from_pretrained(hub_tokenizer_dir).save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def sd_pipeline_dir(hub_tokenizer_dir, tmp_path_factory):
    """(diffusers pipeline, its save_pretrained folder)."""
    pipe = sd_tiny.pipeline(hub_tokenizer_dir)
    folder = str(tmp_path_factory.mktemp("sd_pipeline"))
    pipe.save_pretrained(folder)
    return pipe, folder
