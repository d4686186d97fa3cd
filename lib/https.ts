// mptcp.https: the HTTPS agent, TLS over MPTCP.
export { HttpsAgent as Agent, type HttpsAgentOptions as AgentOptions } from './agents';
