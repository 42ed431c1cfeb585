"""Admission by CPU budget: learned session cost, measured headroom, pending admissions."""
from avatar_runtime.capacity.budget import BudgetConfig, CpuBudget

from .scripted import ScriptedCpu

CONFIG = BudgetConfig(initial_cost=0.5, max_cost=1.0, target=0.85, window=3.0, weight=0.5)


def budget_on(cpu: ScriptedCpu, config: BudgetConfig = CONFIG) -> CpuBudget:
    return CpuBudget(config, read=cpu.read, clock=cpu.clock)


def test_before_two_readings_the_budget_admits_and_knows_no_headroom() -> None:
    cpu = ScriptedCpu()
    budget = budget_on(cpu)
    assert budget.headroom is None and budget.admits()
    budget.sample(sessions=0)
    assert budget.headroom is None and budget.admits()


def test_headroom_is_the_target_share_of_the_cores_minus_what_the_host_used() -> None:
    cpu = ScriptedCpu(cores=2)
    budget = budget_on(cpu)
    budget.sample(0)
    cpu.run(1.0, host=0.5, process=0.1)  # another process is busy: it counts
    budget.sample(0)
    assert budget.headroom is not None and abs(budget.headroom - (1.7 - 0.5)) < 1e-9
    assert budget.admits()
    cpu.run(1.0, host=1.5, process=0.1)
    budget.sample(0)
    assert abs(budget.headroom - (1.7 - 1.0)) < 1e-9  # the window's mean: (0.5 + 1.5) / 2
    cpu.run(3.0, host=1.5, process=0.1)
    budget.sample(0)
    assert abs(budget.headroom - 0.2) < 1e-9 and not budget.admits()  # 0.2 cores cannot hold 0.5


def test_the_session_cost_is_learned_from_its_own_sessions_and_capped() -> None:
    cpu = ScriptedCpu(cores=4)
    budget = budget_on(cpu)
    budget.sample(0)
    for _ in range(3):
        cpu.run(1.0, host=1.6, process=1.6)  # two sessions, 0.8 cores each
        budget.sample(sessions=2)
    assert 0.7 < budget.cost.value < 0.8  # 0.5 -> 0.65 -> 0.725 -> 0.7625
    for _ in range(20):
        cpu.run(1.0, host=4.0, process=4.0)  # one pathological session: at most the ceiling
        budget.sample(sessions=1)
    assert budget.cost.value <= CONFIG.max_cost and budget.cost.value > 0.99


def test_a_session_just_admitted_is_held_at_its_cost_until_the_window_shows_it() -> None:
    cpu = ScriptedCpu(cores=2)
    budget = budget_on(cpu)
    budget.sample(0)
    cpu.run(1.0, host=0.2)
    budget.sample(0)
    assert budget.admits()  # 1.5 cores left
    for _ in range(3):
        budget.admitted()
    assert abs(budget.headroom - (1.5 - 3 * 0.5)) < 1e-9 and not budget.admits()
    cpu.run(3.5, host=0.2)  # the window moved past the admissions (as if they had cost nothing)
    budget.sample(0)
    assert budget.admits()
    cost = budget.cost.value
    budget.admitted()
    cpu.run(1.0, host=1.2, process=1.2)
    budget.sample(sessions=1)
    assert budget.cost.value == cost  # the cost is not learned from a window with a session starting


def test_admission_reserves_the_largest_recent_burst_and_forgets_it_after_the_burst_window() -> None:
    config = BudgetConfig(initial_cost=0.4, max_cost=1.0, target=0.85, window=3.0, weight=0.5, burst_window=20.0)
    cpu = ScriptedCpu(cores=2)
    budget = budget_on(cpu, config)
    budget.sample(0)
    for _ in range(4):
        cpu.run(1.0, host=0.9, process=0.9)  # two sessions' steady video
        budget.sample(2)
    assert budget.burst < 1e-9 and budget.admits()  # 1.7 - 0.9 leaves room for a session of 0.4
    cpu.run(1.0, host=1.8, process=1.8)  # a question is recognised: most of a core for a second
    budget.sample(2)
    for _ in range(3):
        cpu.run(1.0, host=0.9, process=0.9)
        budget.sample(2)
    assert budget.headroom is not None and abs(budget.headroom - 0.8) < 1e-9  # the mean is back where it was
    assert abs(budget.burst - 0.9) < 1e-9  # 1.8 against the 0.9 before it
    assert budget.room is not None and budget.room < budget.cost.value and not budget.admits()
    for _ in range(20):
        cpu.run(1.0, host=0.9, process=0.9)
        budget.sample(2)
    assert budget.burst < 1e-9 and budget.admits()  # no turn for the whole burst window
