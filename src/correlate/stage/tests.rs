//! Scenario tests of the whole stage.
