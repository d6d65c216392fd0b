"""The Streamlit pages' code and the widgets they share. UI only: the logic lives in agent/ and evals/."""
