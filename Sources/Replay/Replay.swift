/// Deterministic replay of recorded sessions on a virtual clock.
public enum ReplayModule {}
