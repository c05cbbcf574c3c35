public enum XeroSimulatorPlaceholder {}
