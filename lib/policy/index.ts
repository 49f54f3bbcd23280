// NetworkPolicy and CiliumNetworkPolicy evaluation as pure functions: the public surface of lib/policy.
export type * from './types.ts';
export { compilePolicies, evaluateConnection, explainSide, selectorKeys, type PolicySet, type SelectingPolicy, type SideExplanation } from './evaluate.ts';
export { policyTypesDefault, type PolicyType } from './networkpolicy.ts';
export { labelSelectorMatches, type LabelSelector } from './selectors.ts';
export { httpRuleAllows, dnsRuleAllows, type HttpRequestFacts } from './l7.ts';
