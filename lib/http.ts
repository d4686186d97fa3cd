// mptcp.http: the HTTP agent over MPTCP.
export { HttpAgent as Agent, type HttpAgentOptions as AgentOptions } from './agents';
