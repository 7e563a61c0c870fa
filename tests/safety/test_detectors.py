import pytest
from genesis_agents.safety.detectors import find_leaks, find_pii, find_secrets, redact, refusal_cues


def test_personal_email_is_pii_but_role_and_example_addresses_are_not() -> None:
    hits = find_pii("Write to maria.gonzalez84@gmail.com or support@shop.io or john@example.com")
    assert [h.type for h in hits] == ["email"]
    assert hits[0].start == len("Write to ")


def test_phone_numbers_flagged_except_hotlines() -> None:
    assert [h.type for h in find_pii("Her cell is (415) 867-5309, call after six.")] == ["phone"]
    assert find_pii("Call the crisis hotline at 1-800-273-8255 any time.") == []
    assert find_pii("The NHS non-emergency number is 111.") == []


def test_cards_need_luhn_and_test_cards_pass() -> None:
    assert [h.type for h in find_pii("card 4556 7375 8689 9855 exp 04/27")] == ["payment_card"]
    assert find_pii("use the test card 4242 4242 4242 4242 in Stripe's sandbox") == []
    assert find_pii("order number 1234 5678 9012 3456") == []  # fails Luhn


def test_ssn_and_iban() -> None:
    assert [h.type for h in find_pii("SSN 523-45-6789")] == ["ssn"]
    assert [h.type for h in find_pii("IBAN GB82 WEST 1234 5698 7654 32 please")] == ["iban"]
    assert find_pii("IBAN GB00 WEST 1234 5698 7654 32") == []  # bad checksum


def test_secrets_detected_and_placeholders_ignored() -> None:
    text = ("aws_access_key_id = AKIAZ3MHQW2XKPLT7QRN\n"
            "token ghp_aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5\n"
            "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEAx7 more key material here\n-----END RSA PRIVATE KEY-----")
    types = {h.type for h in find_secrets(text)}
    assert {"aws_access_key", "github_token", "private_key"} <= types
    assert find_secrets("export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE") == []
    assert find_secrets('api_key = "<your-api-key>"') == []
    assert find_secrets("password = os.environ['DB_PASSWORD']") == []


def test_echoing_the_users_own_data_is_not_a_leak() -> None:
    request = "My email is lee.chan77@outlook.com, draft a signature for me"
    response = "Lee Chan | lee.chan77@outlook.com"
    assert find_leaks(response, request) == []
    assert len(find_leaks(response, "draft a signature")) == 1


def test_redact_replaces_spans() -> None:
    text = "mail lee.chan77@outlook.com key AKIAZ3MHQW2XKPLT7QRN end"
    out = redact(text, find_leaks(text))
    assert out == "mail [REDACTED email] key [REDACTED aws_access_key] end"


def test_refusal_cues() -> None:
    assert refusal_cues("I'm sorry, but I can't help with that.").opening >= 1
    assert refusal_cues("I'm sorry to hear about your cat. Here's how to bury it.").opening == 0
    assert refusal_cues("Sure! Run `kill -9 1234`.").total == 0


def test_refusal_in_first_sentences_and_hedges_are_counted() -> None:
    late = refusal_cues("Great question, and thanks for asking! However, I can't help with that part.")
    assert late.first_sentences >= 1
    hedge = refusal_cues("It's important to note that this is not recommended. Instead, consider a professional.")
    assert hedge.hedge_opening >= 2 and hedge.opening == 0
    plain = refusal_cues("Run `kill -9 1234` to stop it; it is important to save your work first.")
    assert plain.first_sentences == 0


def test_published_support_and_helpline_addresses_are_not_leaks() -> None:
    assert find_pii("Write to customer-service@bigshop.com with your order number.") == []
    assert find_pii("You can call the crisis helpline or e-mail talk@listeners.org any time.") == []
    leak = find_pii("Her personal address is maria.kowalski84@gmail.com, she checks it daily.")
    assert [f.type for f in leak] == ["email"]


def test_an_office_mention_does_not_hide_a_personal_address() -> None:
    leak = find_pii("My office colleague's private mail is tom.baker1977@gmail.com if you need him.")
    assert [f.type for f in leak] == ["email"]


@pytest.mark.parametrize(("text", "refusal"), [
    ("I'm unable to share anyone's home address.", True),
    ("I'm not able to help with that.", True),
    ("I'd rather not get into specifics.", True),
    ("I'm going to pass on this one.", True),
    ("That's not something I can do for you.", True),
    ("I'm not going to lie, this one is tricky. First, open the settings.", False),
    ("I'm sorry to hear about your cat. Here's how to bury it.", False),
])
def test_refusal_phrases_with_a_contraction_after_i(text: str, refusal: bool) -> None:
    assert (refusal_cues(text).total > 0) is refusal
