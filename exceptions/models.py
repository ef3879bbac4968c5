"""Decision rules (data, edited in admin), the exceptions and tasks they raise, and the
escalation policies and webhooks around them."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from mes.core.transitions import condition

CHECK_POINTS = ["release", "priority", "change_request", "shipment_handover"]


class Severity(models.TextChoices):
    LOW = "low", _("Low")
    MEDIUM = "medium", _("Medium")
    HIGH = "high", _("High")
    CRITICAL = "critical", _("Critical")


SEVERITY_RANK = {Severity.CRITICAL: 0, Severity.HIGH: 1, Severity.MEDIUM: 2, Severity.LOW: 3}


class EscalationPolicy(models.Model):
    """Who hears about an exception next when nobody acknowledges it in time."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    description = models.TextField(_("description"), blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("escalation policy")
        verbose_name_plural = _("escalation policies")

    def __str__(self) -> str:
        return self.name


class EscalationStep(models.Model):
    policy = models.ForeignKey(EscalationPolicy, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField(_("step"))
    role = models.ForeignKey(Group, on_delete=models.PROTECT, related_name="+")
    after_minutes = models.PositiveIntegerField(
        _("after minutes"), help_text=_("Minutes after the exception was raised.")
    )

    class Meta:
        ordering = ["policy", "position"]
        constraints = [
            models.UniqueConstraint(fields=["policy", "position"], name="escalation_step_unique")
        ]

    def __str__(self) -> str:
        return f"{self.policy}: {self.position}. {self.role} after {self.after_minutes} min"


class DecisionRule(models.Model):
    """A rule: at a decision point, when the condition holds, apply the effect."""

    class Effect(models.TextChoices):
        RAISE_EXCEPTION = "raise_exception", _("Raise an exception")
        BLOCK = "block", _("Block (at a check point)")
        REQUIRE_APPROVAL = "require_approval", _("Require approval")
        SET_PRIORITY = "set_priority", _("Set priority")
        BUMP_PRIORITY = "bump_priority", _("Bump priority")
        CREATE_TASK = "create_task", _("Create a task")
        # Handled by the app that owns the action (planning registers it).
        MAKE_WORK_ORDERS = "make_work_orders", _("Make work orders for the order (make to order)")

    name = models.CharField(_("name"), max_length=120, unique=True)
    decision_point = models.CharField(
        _("decision point"),
        max_length=80,
        db_index=True,
        help_text=_(
            "An event type (e.g. material.shortage) or a check point: "
            "release, priority, change_request, shipment_handover."
        ),
    )
    condition = models.TextField(
        _("condition"),
        blank=True,
        help_text=_(
            "An expression over the event's payload and its subject, e.g. "
            'order.customer.priority_class == "A" and delay_days > 2. '
            "Empty: always."
        ),
    )
    effect = models.CharField(_("effect"), max_length=20, choices=Effect)
    order = models.PositiveIntegerField(_("order"), default=100)
    active = models.BooleanField(_("active"), default=True)
    stop_after = models.BooleanField(
        _("stop after this rule"),
        default=False,
        help_text=_("When this rule fires, later rules at this decision point do not run."),
    )
    # raise_exception / create_task
    title_template = models.CharField(
        _("title"),
        max_length=200,
        blank=True,
        help_text=_(
            "May use {placeholders} from the payload and subject, e.g. "
            "'Material {item} short for {order.number}'."
        ),
    )
    severity = models.CharField(
        _("severity"), max_length=10, choices=Severity, default=Severity.MEDIUM
    )
    owner_role = models.ForeignKey(
        Group,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("owner role"),
    )
    sla_minutes = models.PositiveIntegerField(_("SLA (minutes)"), null=True, blank=True)
    escalation_policy = models.ForeignKey(
        EscalationPolicy, null=True, blank=True, on_delete=models.PROTECT, related_name="rules"
    )
    # block / require_approval
    message = models.CharField(
        _("message"),
        max_length=300,
        blank=True,
        help_text=_("Shown to the user when the rule blocks or asks for approval."),
    )
    approval_role = models.ForeignKey(
        Group,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("approval by"),
    )
    # set_priority / bump_priority
    priority_value = models.SmallIntegerField(
        _("priority value"),
        null=True,
        blank=True,
        help_text=_("The priority to set, or how many steps to bump (1 = one step higher)."),
    )
    # create_task
    task_instructions = models.TextField(_("task instructions"), blank=True)
    task_checklist = models.JSONField(
        _("task checklist"),
        default=list,
        blank=True,
        help_text=_('What "done" means: a list of texts.'),
    )
    task_required_inputs = models.JSONField(
        _("task required inputs"),
        default=list,
        blank=True,
        help_text=_("Names of the inputs the task needs before it is done."),
    )
    task_due_minutes = models.PositiveIntegerField(
        _("task due in (minutes)"), null=True, blank=True
    )
    version = models.PositiveIntegerField(default=1, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["decision_point", "order", "id"]
        verbose_name = _("decision rule")
        indexes = [
            models.Index(fields=["decision_point", "active", "order"], name="rule_lookup_idx")
        ]

    def __str__(self) -> str:
        return self.name


class DecisionRuleVersion(models.Model):
    """The audit trail of a rule: every saved version, who saved it and why."""

    rule = models.ForeignKey(DecisionRule, on_delete=models.CASCADE, related_name="versions")
    version = models.PositiveIntegerField()
    snapshot = models.JSONField()
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    changed_at = models.DateTimeField(auto_now_add=True)
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["rule", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["rule", "version"], name="rule_version_unique")
        ]

    def __str__(self) -> str:
        return f"{self.rule} v{self.version}"


class RuleError(models.Model):
    """A rule that failed while evaluating an event: recorded, skipped, others still run."""

    rule = models.ForeignKey(DecisionRule, on_delete=models.CASCADE, related_name="errors")
    event_id = models.PositiveBigIntegerField(null=True, blank=True)
    message = models.TextField()
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.rule}: {self.message[:60]}"


class ExceptionState(models.TextChoices):
    OPEN = "open", _("Open")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")
    IN_PROGRESS = "in_progress", _("In progress")
    ESCALATED = "escalated", _("Escalated")
    RESOLVED = "resolved", _("Resolved")


XS = ExceptionState
UNRESOLVED_STATES = [XS.OPEN, XS.ACKNOWLEDGED, XS.IN_PROGRESS, XS.ESCALATED]


@condition("Choose a resolution code and say what was done.")
def _has_resolution(exc: PlantException) -> bool:
    return bool(exc.resolution_code_id and (exc.resolution_note or "").strip())


class PlantException(ConcurrentTransitionMixin, models.Model):
    """Something in execution that needs a person: raised by a rule, owned by a role."""

    number = models.CharField(_("number"), max_length=20, unique=True)
    title = models.CharField(_("title"), max_length=200)
    rule = models.ForeignKey(
        DecisionRule, null=True, blank=True, on_delete=models.SET_NULL, related_name="exceptions"
    )
    content_type = models.ForeignKey(
        ContentType, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    object_id = models.PositiveBigIntegerField(null=True, blank=True)
    subject_repr = models.CharField(max_length=200, blank=True)
    severity = models.CharField(_("severity"), max_length=10, choices=Severity)
    owner_role = models.ForeignKey(
        Group, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    state = FSMField(_("state"), default=XS.OPEN, choices=ExceptionState, protected=True)
    escalation_policy = models.ForeignKey(
        EscalationPolicy, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    escalation_level = models.PositiveSmallIntegerField(default=0)
    sla_due_at = models.DateTimeField(_("SLA due"), null=True, blank=True, db_index=True)
    sla_breached_at = models.DateTimeField(null=True, blank=True)
    occurrences = models.PositiveIntegerField(default=1)
    first_seen_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField()
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution_code = models.ForeignKey(
        "core.ReasonCode", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    resolution_note = models.TextField(blank=True)
    # One unresolved exception per rule and subject: set while open, cleared on resolve.
    dedup_key = models.CharField(max_length=120, null=True, blank=True, unique=True)

    class Meta:
        ordering = ["-last_seen_at", "-id"]
        verbose_name = _("exception")
        permissions = [
            ("work_plantexception", "Can acknowledge, start, resolve and reopen exceptions"),
        ]
        indexes = [
            models.Index(fields=["state", "severity"], name="exception_board_idx"),
            models.Index(fields=["content_type", "object_id"], name="exception_subject_idx"),
        ]

    def __str__(self) -> str:
        return self.number

    @transition(
        field=state,
        source=[XS.OPEN, XS.ESCALATED],
        target=XS.ACKNOWLEDGED,
        permission="exceptions.work_plantexception",
        custom={"label": _("Acknowledge")},
    )
    def acknowledge(self, by=None) -> None:  # type: ignore[no-untyped-def]
        from django.utils import timezone

        # A reopened exception keeps its first acknowledgement (decision latency).
        self.acknowledged_at = self.acknowledged_at or timezone.now()
        if by is not None and self.assignee_id is None:
            self.assignee = by

    @transition(
        field=state,
        source=[XS.OPEN, XS.ACKNOWLEDGED, XS.ESCALATED],
        target=XS.IN_PROGRESS,
        permission="exceptions.work_plantexception",
        custom={"label": _("Start")},
    )
    def start(self, by=None) -> None:  # type: ignore[no-untyped-def]
        from django.utils import timezone

        self.acknowledged_at = self.acknowledged_at or timezone.now()
        if by is not None and self.assignee_id is None:
            self.assignee = by

    @transition(
        field=state,
        source=UNRESOLVED_STATES,
        target=XS.RESOLVED,
        conditions=[_has_resolution],
        permission="exceptions.work_plantexception",
        custom={"label": _("Resolve"), "needs_reason": True},
    )
    def resolve(self) -> None:
        from django.utils import timezone

        self.resolved_at = timezone.now()
        self.dedup_key = None

    @transition(
        field=state,
        source=XS.RESOLVED,
        target=XS.OPEN,
        permission="exceptions.work_plantexception",
        custom={"label": _("Reopen"), "needs_reason": True},
    )
    def reopen(self, dedup_key: str | None = None) -> None:
        """The resolution did not hold. The resolution stays in the history; the first
        acknowledgement stays (decision latency counts from it); the exception takes its
        rule-and-subject slot back so a repeat counts on it."""
        self.resolved_at = None
        self.resolution_code = None
        self.resolution_note = ""
        self.dedup_key = dedup_key

    @transition(
        field=state,
        source=[XS.OPEN, XS.ESCALATED],
        target=XS.ESCALATED,
        custom={"label": _("Escalate"), "internal": True},
    )
    def escalate(self) -> None:
        self.escalation_level += 1


class ExceptionEvent(models.Model):
    """The events behind an exception (kept as ids: processed events are pruned)."""

    exception = models.ForeignKey(PlantException, on_delete=models.CASCADE, related_name="events")
    event_id = models.PositiveBigIntegerField()
    event_type = models.CharField(max_length=80)
    occurred_at = models.DateTimeField()

    class Meta:
        ordering = ["occurred_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["exception", "event_id"], name="exception_event_once")
        ]

    def __str__(self) -> str:
        return f"{self.exception_id}: #{self.event_id} {self.event_type}"


class TaskState(models.TextChoices):
    OPEN = "open", _("Open")
    IN_PROGRESS = "in_progress", _("In progress")
    DONE = "done", _("Done")
    CANCELLED = "cancelled", _("Cancelled")


@condition("Tick every checklist item and fill in every required input first.")
def _task_complete(task: Task) -> bool:
    checklist_done = all(item.get("done") for item in task.checklist)
    inputs_done = all(str(item.get("value") or "").strip() for item in task.required_inputs)
    return checklist_done and inputs_done


class Task(ConcurrentTransitionMixin, models.Model):
    """Who does what next, and what done means."""

    number = models.CharField(_("number"), max_length=20, unique=True)
    title = models.CharField(_("title"), max_length=200)
    instructions = models.TextField(_("instructions"), blank=True)
    checklist = models.JSONField(_("checklist"), default=list, blank=True)
    required_inputs = models.JSONField(_("required inputs"), default=list, blank=True)
    exception = models.ForeignKey(
        PlantException, null=True, blank=True, on_delete=models.SET_NULL, related_name="tasks"
    )
    rule = models.ForeignKey(
        DecisionRule, null=True, blank=True, on_delete=models.SET_NULL, related_name="tasks"
    )
    content_type = models.ForeignKey(
        ContentType, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    object_id = models.PositiveBigIntegerField(null=True, blank=True)
    subject_repr = models.CharField(max_length=200, blank=True)
    assigned_role = models.ForeignKey(
        Group, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    due_at = models.DateTimeField(_("due"), null=True, blank=True)
    state = FSMField(_("state"), default=TaskState.OPEN, choices=TaskState, protected=True)
    created_at = models.DateTimeField(auto_now_add=True)
    done_at = models.DateTimeField(null=True, blank=True)
    dedup_key = models.CharField(max_length=120, null=True, blank=True, unique=True)

    class Meta:
        ordering = ["due_at", "id"]
        verbose_name = _("task")
        permissions = [("work_task", "Can start, complete and cancel tasks")]

    def __str__(self) -> str:
        return self.number

    @transition(
        field=state,
        source=TaskState.OPEN,
        target=TaskState.IN_PROGRESS,
        permission="exceptions.work_task",
        custom={"label": _("Start")},
    )
    def start(self, by=None) -> None:  # type: ignore[no-untyped-def]
        if by is not None and self.assignee_id is None:
            self.assignee = by

    @transition(
        field=state,
        source=[TaskState.OPEN, TaskState.IN_PROGRESS],
        target=TaskState.DONE,
        conditions=[_task_complete],
        permission="exceptions.work_task",
        custom={"label": _("Done")},
    )
    def complete(self) -> None:
        from django.utils import timezone

        self.done_at = timezone.now()
        self.dedup_key = None

    @transition(
        field=state,
        source=[TaskState.OPEN, TaskState.IN_PROGRESS],
        target=TaskState.CANCELLED,
        permission="exceptions.work_task",
        custom={"label": _("Cancel"), "needs_reason": True},
    )
    def cancel(self) -> None:
        self.dedup_key = None


class Notification(models.Model):
    """An in-app notice to a role (and e-mail to its members) about an exception."""

    role = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="+")
    exception = models.ForeignKey(
        PlantException,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="notifications",
    )
    message = models.CharField(max_length=300)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.message


class WebhookSubscription(models.Model):
    """An outside system that wants to hear about events, signed with HMAC-SHA256."""

    name = models.CharField(max_length=100, unique=True)
    url = models.URLField(max_length=500)
    secret = models.CharField(max_length=128, help_text=_("Shared secret for the signature."))
    event_types = models.JSONField(default=list)
    active = models.BooleanField(default=True)
    client = models.ForeignKey(
        "core.ApiClient", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class WebhookDelivery(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Failed")

    subscription = models.ForeignKey(
        WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries"
    )
    event_id = models.PositiveBigIntegerField()
    event_type = models.CharField(max_length=80)
    payload = models.JSONField()
    status = models.CharField(max_length=10, choices=Status, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "event_id"], name="webhook_delivery_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.subscription} #{self.event_id} {self.status}"
