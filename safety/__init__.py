"""WaltzRL safety wrapper: a feedback agent judges every agent response (unsafe content, over-refusal of a
benign request, PII/secret leakage), a conversation agent revises it, policies choose block / revise / coach /
monitor per agent and namespace, and every verdict, revision and Dynamic Improvement Reward is written to an
append-only audit log. Everything works offline; an LLM, when configured, judges uncertain cases and revises.

Imports here are light: models load on first use.
"""

from .artifacts import ArtifactNote, ArtifactReview, scan_artifacts
from .audit import AuditLog, AuditRecord
from .conversation import ConversationAgent, decline_text
from .feedback import FeedbackAgent
from .labels import HARM_CATEGORIES, Finding, Verdict
from .pipeline import Outcome, SafetyPipeline
from .policies import PolicyRule, SafetyPolicy
from .reviewer import SafetyWrapper, WaltzRLReviewer
from .reward import dynamic_improvement_reward

__all__ = [
    "HARM_CATEGORIES",
    "ArtifactNote",
    "ArtifactReview",
    "AuditLog",
    "AuditRecord",
    "ConversationAgent",
    "FeedbackAgent",
    "Finding",
    "Outcome",
    "PolicyRule",
    "SafetyPipeline",
    "SafetyPolicy",
    "SafetyWrapper",
    "Verdict",
    "WaltzRLReviewer",
    "decline_text",
    "dynamic_improvement_reward",
    "scan_artifacts",
]
